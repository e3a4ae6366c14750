package httpapi

import (
	"net/http"
	"strconv"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/app/qr"
)

func (s *Server) registerQR() {
	s.route(api+"/profile/qr", Doc{
		Summary: "A QR code PNG for a share (kind=share, id=verification token or share id), the emergency page (kind=emergency), a health link (kind=link, id) or a fresh device pairing code (kind=pair).",
		Auth:    true, Params: []string{"kind!", "id", "size"}, Content: "image/png", Errors: []int{400, 401, 404},
	}, MaxBody, raw(s.qrPNG, http.MethodGet))
}

func (s *Server) qrPNG(w http.ResponseWriter, c *call) error {
	if !c.p.Has("kind") {
		return app.E(app.KindInvalid, "missing_parameter", "kind must exist!")
	}
	url, err := s.app.QRURL(c.ctx(), c.who, c.p.String("kind"), c.p.String("id"))
	if err != nil {
		return err
	}
	size := 512
	if v := c.p.String("size"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 128 && n <= 2048 {
			size = n
		}
	}
	png, err := qr.PNG(url, size)
	if err != nil {
		return app.Internal(err)
	}
	w.Header().Set("Content-Type", "image/png")
	w.Write(png)
	return nil
}
