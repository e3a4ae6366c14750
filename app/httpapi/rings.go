package httpapi

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/secure-personal-profile/spp/app"
)

// registerRings registers privilege rings (use case 6): fields and
// services moved into built-in or custom rings, and the rings reviewed.
func (s *Server) registerRings() {
	s.route(api+"/profile/privilege-rings", Doc{
		Summary: "Move fields (and services, as their role) into a ring: a built-in one (public, semi-private, private, " +
			"restricted) or a custom ring with a base access_level. Calling again with the same ring_name keeps its ring_id.",
		Auth: true, Params: []string{"ring_name!", "assigned_data!", "access_level", "services"}, Success: http.StatusCreated,
		Errors: []int{400, 401},
	}, MaxBody, answer(s.privilegeRings, http.MethodPost))
	s.route(api+"/profile/rings", Doc{
		Summary: "The built-in and custom rings, each with its level, fields and services.",
		Auth:    true, Errors: []int{401},
	}, MaxBody, answer(s.listRings, http.MethodGet))
}

// nameList reads a list of names sent as a JSON array, a comma-separated
// string or one name. ok is false for any other JSON value.
func nameList(raw json.RawMessage) (names []string, ok bool) {
	if len(raw) == 0 {
		return nil, true
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		for _, n := range strings.Split(s, ",") {
			if n = strings.TrimSpace(n); n != "" {
				names = append(names, n)
			}
		}
		return names, true
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) != nil {
		return nil, false
	}
	for _, item := range list {
		if json.Unmarshal(item, &s) != nil {
			return nil, false
		}
		if s = strings.TrimSpace(s); s != "" {
			names = append(names, s)
		}
	}
	return names, true
}

var errAssignedShape = app.E(app.KindInvalid, "invalid_field_name", "assigned_data has an invalid field name!")

func (s *Server) privilegeRings(c *call) (int, RingResponse, error) {
	rr := app.RingRequest{Name: c.p.String("ring_name"), Level: c.p.String("access_level")}
	raw := c.p.JSON("assigned_data")
	var obj struct {
		Fields   json.RawMessage `json:"fields"`
		Services json.RawMessage `json:"services"`
	}
	if t := strings.TrimSpace(string(raw)); strings.HasPrefix(t, "{") {
		if json.Unmarshal(raw, &obj) != nil {
			return 0, RingResponse{}, errAssignedShape
		}
	} else {
		obj.Fields = raw
	}
	var ok bool
	if rr.Fields, ok = nameList(obj.Fields); !ok {
		return 0, RingResponse{}, errAssignedShape
	}
	if rr.Services, ok = nameList(obj.Services); !ok {
		return 0, RingResponse{}, errAssignedShape
	}
	more, ok := nameList(c.p.JSON("services"))
	if !ok {
		return 0, RingResponse{}, app.E(app.KindInvalid, "invalid_service_id", "assigned_data has an invalid service_id!")
	}
	rr.Services = append(rr.Services, more...)
	id, err := s.app.SetRing(c.ctx(), c.who, rr)
	if err != nil {
		return 0, RingResponse{}, err
	}
	return http.StatusCreated, RingResponse{RingID: id}, nil
}

func (s *Server) listRings(c *call) (int, RingsResponse, error) {
	rings, err := s.app.Rings(c.ctx(), c.who)
	if err != nil {
		return 0, RingsResponse{}, err
	}
	return http.StatusOK, RingsResponse{Rings: rings}, nil
}
