package httpapi

import (
	"net/http"
	"strconv"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/app/qr"
)

func (s *Server) registerQR() {
	s.page(api+"/profile/qr", Doc{
		Summary: "A QR code PNG for a share (kind=share, id=verification token or share id), the emergency page (kind=emergency), a health link (kind=link, id) or a fresh device pairing code (kind=pair).",
		Auth:    true, Params: []string{"kind!", "id", "size"}, Content: "image/png", Errors: []int{400, 401, 404},
	}, s.qrPNG, http.MethodGet)
}

func (s *Server) qrPNG(w http.ResponseWriter, r *http.Request) {
	p, pr, ok := s.authPage(w, r)
	if !ok {
		return
	}
	if !p.Has("kind") {
		s.writeError(w, r, "", app.E(app.KindInvalid, "missing_parameter", "kind must exist!"))
		return
	}
	url, err := s.app.QRURL(r.Context(), pr, p.String("kind"), p.String("id"))
	if err != nil {
		s.writeError(w, r, "", err)
		return
	}
	size := 512
	if v := p.String("size"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 128 && n <= 2048 {
			size = n
		}
	}
	png, err := qr.PNG(url, size)
	if err != nil {
		s.writeError(w, r, "", app.Internal(err))
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Write(png)
}
