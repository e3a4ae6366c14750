package httpapi

import (
	"context"
	"io"
	"net/http"
	"time"

	"github.com/secure-personal-profile/spp/app"
)

// registerSettings registers the profile's settings: the public URL every
// device of the profile makes its links under (API.md Part 4 "Where
// outsiders reach the profile").
func (s *Server) registerSettings() {
	doc := Doc{
		Summary: "The profile's settings: public_url (synced to every device; empty clears it), public_url_source (profile, flag, default) and reachable (anyone, local-network, this-device).",
		Auth:    true, Params: []string{"public_url"}, Errors: []int{400, 401},
	}
	s.route(api+"/profile/settings", doc, MaxBody,
		answer(s.settings, http.MethodGet),
		answer(s.setSettings, http.MethodPut, http.MethodPost))
}

func settingsResponse(st *app.Settings) SettingsResponse {
	return SettingsResponse{PublicURL: st.PublicURL, PublicURLSource: st.Source, Reachable: st.Reachable}
}

func (s *Server) settings(c *call) (int, SettingsResponse, error) {
	st, err := s.app.Settings(c.ctx(), c.who)
	if err != nil {
		return 0, SettingsResponse{}, err
	}
	return http.StatusOK, settingsResponse(st), nil
}

func (s *Server) setSettings(c *call) (int, SettingsResponse, error) {
	if !c.p.Sent("public_url") {
		return 0, SettingsResponse{}, app.E(app.KindInvalid, "missing_parameter", "public_url must exist!")
	}
	st, err := s.app.SetPublicURL(c.ctx(), c.who, c.p.String("public_url"))
	if err != nil {
		return 0, SettingsResponse{}, err
	}
	if st.Source == app.URLFromProfile {
		// Requests that name the new host are this listener's from now on.
		if err := s.AllowPublicURL(st.PublicURL); err != nil {
			return 0, SettingsResponse{}, app.Internal(err)
		}
	}
	return http.StatusOK, settingsResponse(st), nil
}

// Fetch is the app's Fetcher over HTTP: a GET with a short timeout, no
// redirects, at most 64 KiB of the answer read.
func Fetch(ctx context.Context, u string) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 8*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Accept", "application/json")
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	return res.StatusCode, body, err
}
