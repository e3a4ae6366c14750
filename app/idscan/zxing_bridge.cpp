// Copyright the spp authors. C interface to the zxing-cpp PDF417 reader.

#include "zxing_bridge.h"

#include <ReadBarcode.h>

#include <cstdlib>
#include <cstring>
#include <exception>

extern "C" int spp_read_pdf417(const uint8_t *gray, int width, int height,
                               int stride, int try_harder, int try_rotate,
                               int binarizer,
                               uint8_t **out, size_t *out_len) {
  if (out == nullptr || out_len == nullptr) {
    return -1;
  }
  *out = nullptr;
  *out_len = 0;
  if (gray == nullptr || width <= 0 || height <= 0 || stride < width) {
    return -1;
  }
  try {
    ZXing::ImageView view(gray, width, height, ZXing::ImageFormat::Lum,
                          stride);
    ZXing::DecodeHints hints;
    hints.setFormats(ZXing::BarcodeFormat::PDF417);
    hints.setTryHarder(try_harder != 0);
    hints.setTryRotate(try_rotate != 0);
    hints.setTryDownscale(false);
    hints.setMaxNumberOfSymbols(4);
    switch (binarizer) {
    case 1:
      hints.setBinarizer(ZXing::Binarizer::GlobalHistogram);
      break;
    case 2:
      hints.setBinarizer(ZXing::Binarizer::FixedThreshold);
      break;
    default:
      hints.setBinarizer(ZXing::Binarizer::LocalAverage);
      break;
    }
    ZXing::Results results = ZXing::ReadBarcodes(view, hints);
    const ZXing::Result *best = nullptr;
    for (const auto &r : results) {
      if (!r.isValid() || r.bytes().empty()) {
        continue;
      }
      // Prefer a symbol that looks like an AAMVA file ("@" compliance
      // indicator); otherwise keep the first readable one.
      if (best == nullptr || (r.bytes()[0] == '@' && best->bytes()[0] != '@')) {
        best = &r;
      }
    }
    if (best == nullptr) {
      return 0;
    }
    const ZXing::ByteArray &bytes = best->bytes();
    uint8_t *buf = static_cast<uint8_t *>(std::malloc(bytes.size()));
    if (buf == nullptr) {
      return -1;
    }
    std::memcpy(buf, bytes.data(), bytes.size());
    *out = buf;
    *out_len = bytes.size();
    return 1;
  } catch (...) {
    return -1;
  }
}
