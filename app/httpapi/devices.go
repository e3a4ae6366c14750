package httpapi

import (
	"net/http"
)

// registerDevices registers devices and sync: a pairing code shown, a new
// device joined, the paired devices listed and removed.
func (s *Server) registerDevices() {
	s.route(api+"/devices/pair-code", Doc{
		Summary: "A one-time pairing code (the text a pairing QR code carries), valid 10 minutes; lists this device (optional name) if it is not yet.",
		Auth:    true, Params: []string{"name"}, Success: 201, Errors: []int{400, 401, 409},
	}, MaxBody, answer(s.pairCode, http.MethodPost))
	s.route(api+"/devices/join", Doc{
		Summary: "On a new device: pair with the device that showed the code, check the password, sync the profile and sign in here.",
		Params:  []string{"code!", "password!", "name"}, Success: 201,
		Errors: []int{400, 401, 403, 409, 410, 422},
	}, MaxBody, answer(s.join, http.MethodPost))
	s.route(api+"/devices", Doc{
		Summary: "The user's paired devices with their last sync.",
		Auth:    true, Errors: []int{401},
	}, MaxBody, answer(s.devices, http.MethodGet))
	s.route(api+"/devices/{device_id}", Doc{
		Summary: "Remove a paired device: it syncs no more.",
		Auth:    true, Errors: []int{401, 404, 409},
	}, MaxBody, answer(s.removeDevice, http.MethodDelete))
}

func (s *Server) pairCode(c *call) (int, PairCodeResponse, error) {
	code, expires, err := s.app.PairCode(c.ctx(), c.who, c.p.String("name"))
	if err != nil {
		return 0, PairCodeResponse{}, err
	}
	return http.StatusCreated, PairCodeResponse{Code: code, ExpiresAt: ts(expires)}, nil
}

func (s *Server) join(c *call) (int, JoinResponse, error) {
	a, err := s.app.Join(c.ctx(), c.p.String("code"), c.p.String("password"), c.p.String("name"))
	if err != nil {
		return 0, JoinResponse{}, err
	}
	return http.StatusCreated, JoinResponse{SessionResponse: sessionResponse(a), DeviceID: s.app.DeviceID()}, nil
}

func (s *Server) devices(c *call) (int, DevicesResponse, error) {
	ds, err := s.app.Devices(c.ctx(), c.who)
	if err != nil {
		return 0, DevicesResponse{}, err
	}
	out := make([]DeviceInfo, 0, len(ds))
	for _, d := range ds {
		out = append(out, DeviceInfo{
			DeviceID: d.ID, PeerID: d.PeerID, Name: d.Name,
			AddedAt: tsOrNil(d.AddedAt), LastSync: tsOrNil(d.LastSync),
			Current: d.Current, Connected: d.Connected,
		})
	}
	return http.StatusOK, DevicesResponse{Devices: out}, nil
}

func (s *Server) removeDevice(c *call) (int, OKResponse, error) {
	if err := s.app.RemoveDevice(c.ctx(), c.who, c.r.PathValue("device_id")); err != nil {
		return 0, OKResponse{}, err
	}
	return http.StatusOK, OKResponse{}, nil
}
