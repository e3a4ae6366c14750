package httpapi

import (
	"net/http"
	"time"
)

func (s *Server) registerDevices() {
	s.handle(api+"/devices/pair-code", Doc{
		Summary: "A one-time pairing code (the text a pairing QR code carries), valid 10 minutes; lists this device (optional name) if it is not yet.",
		Auth:    true, Params: []string{"name"}, Success: 201, Returns: []string{"code", "expires_at"}, Errors: []int{400, 401, 409},
	}, MaxBody, s.pairCode, http.MethodPost)
	s.handle(api+"/devices/join", Doc{
		Summary: "On a new device: pair with the device that showed the code, check the password, sync the profile and sign in here.",
		Params:  []string{"code!", "password!", "name"}, Success: 201,
		Returns: []string{"user_id", "token", "profile_id", "expires_at", "device_id"},
		Errors:  []int{400, 401, 403, 409, 410, 422},
	}, MaxBody, s.join, http.MethodPost)
	s.handle(api+"/devices", Doc{
		Summary: "The user's paired devices with their last sync.",
		Auth:    true, Returns: []string{"devices"}, Errors: []int{401},
	}, MaxBody, s.devices, http.MethodGet)
	s.handle(api+"/devices/{device_id}", Doc{
		Summary: "Remove a paired device: it syncs no more.",
		Auth:    true, Errors: []int{401, 404, 409},
	}, MaxBody, s.removeDevice, http.MethodDelete)
}

func (s *Server) pairCode(r *http.Request, p *params) (int, any, error) {
	pr, err := s.auth(r, p)
	if err != nil {
		return 0, nil, err
	}
	code, expires, err := s.app.PairCode(r.Context(), pr, p.String("name"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, map[string]any{"status": "success", "code": code, "expires_at": expires.UTC().Format(time.RFC3339)}, nil
}

func (s *Server) join(r *http.Request, p *params) (int, any, error) {
	a, err := s.app.Join(r.Context(), p.String("code"), p.String("password"), p.String("name"))
	if err != nil {
		return 0, nil, err
	}
	body := authBody(a)
	body["device_id"] = s.app.DeviceID()
	return http.StatusCreated, body, nil
}

func timeOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

func (s *Server) devices(r *http.Request, p *params) (int, any, error) {
	pr, err := s.auth(r, p)
	if err != nil {
		return 0, nil, err
	}
	ds, err := s.app.Devices(r.Context(), pr)
	if err != nil {
		return 0, nil, err
	}
	out := make([]map[string]any, 0, len(ds))
	for _, d := range ds {
		out = append(out, map[string]any{
			"device_id": d.ID,
			"peer_id":   d.PeerID,
			"name":      d.Name,
			"added_at":  timeOrNil(d.AddedAt),
			"last_sync": timeOrNil(d.LastSync),
			"current":   d.Current,
			"connected": d.Connected,
		})
	}
	return http.StatusOK, map[string]any{"status": "success", "devices": out}, nil
}

func (s *Server) removeDevice(r *http.Request, p *params) (int, any, error) {
	pr, err := s.auth(r, p)
	if err != nil {
		return 0, nil, err
	}
	if err := s.app.RemoveDevice(r.Context(), pr, r.PathValue("device_id")); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"status": "success"}, nil
}
