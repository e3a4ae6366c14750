package httpapi

import (
	"html/template"
	"net/http"
)

// registerPublic registers the public profile: set by the user, shown to
// anyone with its link while visible.
func (s *Server) registerPublic() {
	s.route(api+"/profile/public", Doc{
		Summary: "Set the public profile (public_info, visibility); returns its link. The page shows public_info and the public ring's fields while visible.",
		Auth:    true, Params: []string{"public_info!", "visibility!"}, Errors: []int{400, 401},
	}, MaxBody, answer(s.setPublic, http.MethodPost))
	s.route(api+"/public/{public_token}", Doc{
		Summary: "The public profile page (HTML for a browser, else JSON): public_info and the public ring's fields; 404 while not visible.",
		Page:    "Public profile", Errors: []int{404},
	}, MaxBody, page(s.publicPage, http.MethodGet))
}

func (s *Server) setPublic(c *call) (int, PublicLinkResponse, error) {
	link, err := s.app.SetPublic(c.ctx(), c.who, c.p.JSON("public_info"), c.p.String("visibility"))
	if err != nil {
		return 0, PublicLinkResponse{}, err
	}
	return http.StatusOK, PublicLinkResponse{PublicProfileLink: link}, nil
}

var publicPageBody = template.Must(template.New("public").Parse(`{{if .Error}}<p class="error">{{.Error}}</p>{{else}}
<div>{{.Info}}</div>
{{if .Fields}}<dl>{{range .Fields}}<dt>{{.Name}}</dt><dd>{{.Value}}</dd>{{end}}</dl>{{end}}{{end}}`))

func (s *Server) publicPage(c *call) (int, PublicResponse, *view, error) {
	pp, err := s.app.Public(c.ctx(), c.r.PathValue("public_token"))
	if err != nil {
		return 0, PublicResponse{}, nil, &pageError{err: err, body: publicPageBody, data: errorData}
	}
	body := PublicResponse{PublicInfo: pp.Info, Fields: pp.Fields}
	if !c.html() {
		return http.StatusOK, body, nil, nil
	}
	return http.StatusOK, body, &view{title: "Public profile", body: publicPageBody, data: map[string]any{
		"Info": valueHTML(pp.Info), "Fields": claimRows(pp.Fields),
	}}, nil
}
