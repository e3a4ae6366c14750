// Copyright the spp authors. C interface to the zxing-cpp PDF417 reader.

#ifndef SPP_IDSCAN_ZXING_BRIDGE_H
#define SPP_IDSCAN_ZXING_BRIDGE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// spp_read_pdf417 looks for PDF417 symbols in an 8-bit grayscale image of
// width x height pixels whose rows are stride bytes apart. On success it
// returns 1 and stores a malloc'd copy of the symbol's raw bytes in *out
// (length *out_len); the caller frees it. It returns 0 if nothing was decoded
// and -1 on an internal error. try_rotate also tries 90, 180 and 270 degrees;
// binarizer selects zxing's binarizer: 0 local average (hybrid), 1 global
// histogram, 2 fixed threshold.
int spp_read_pdf417(const uint8_t *gray, int width, int height, int stride,
                    int try_harder, int try_rotate, int binarizer,
                    uint8_t **out,
                    size_t *out_len);

#ifdef __cplusplus
}
#endif

#endif
