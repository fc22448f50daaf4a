package daemon

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// TestUINetwork: the "Network" page shows every steward server of the
// devnet (its registry host, push, file and TURN servers) side by side,
// each with its signature verified and the records its signed report
// lists, as the API (and so `hush network transparency --json`) gives
// them; the page passes axe in both themes and fits a 400 px window.
func TestUINetwork(t *testing.T) {
	env := uiFixture(t)
	page := env.page(t, "alice")
	env.screen(t, page, "#/network")
	if v := evalJS[string](t, page, `document.querySelector('section.screen-network').dataset.verified || ''`); v == "" {
		t.Fatalf("the page shows no reports: %s", evalJS[string](t, page, `document.querySelector('main').innerText`))
	}
	env.shot(t, page, "network")

	var reps []networkReportJSON
	env.api(t, "alice").mustDo("GET", "/api/v1/network/transparency", nil, http.StatusOK, &reps)
	servers := map[string]bool{}
	for _, r := range reps {
		servers[r.Server] = true
		if !r.Verified || r.Statement == nil || r.Statement.Report.Server != r.Server {
			t.Errorf("%s %s: not verified: %s", r.Server, r.Address, r.Error)
		}
	}
	for _, s := range []string{"registry", "push", "files", "turn"} {
		if !servers[s] {
			t.Errorf("no %s report: %+v", s, reps)
		}
	}
	cards := evalJS[[]string](t, page, `[...document.querySelectorAll('.report')].map(c => c.dataset.server + ' ' + c.dataset.verified + ' ' + c.querySelectorAll('tr.record').length)`)
	if len(cards) != len(reps) {
		t.Fatalf("the page shows %d reports, the API %d: %q", len(cards), len(reps), cards)
	}
	for i, r := range reps {
		want := r.Server + " 1 "
		if r.Statement != nil {
			want += strconv.Itoa(len(r.Statement.Report.Records))
		}
		if cards[i] != want {
			t.Errorf("card %d shows %q, want %q", i, cards[i], want)
		}
	}
	turn := evalJS[string](t, page, `(document.querySelector('.report[data-server="turn"]') || {}).innerText || ''`)
	for _, s := range []string{"Signature verified", "allocations", "turn_secret.key"} {
		if !strings.Contains(turn, s) {
			t.Errorf("the TURN report lacks %q:\n%s", s, turn)
		}
	}

	axe := axeSource(t)
	for _, dark := range []bool{false, true} {
		darkTheme(t, page, dark)
		for _, v := range runAxe(t, page, axe) {
			t.Errorf("network (dark %v): %s %s (%s): %s", dark, v.Impact, v.ID, v.Help, strings.Join(v.Nodes, "; "))
		}
	}
	darkTheme(t, page, false)
	viewport(t, page, 400)
	if w := evalJS[int](t, page, `document.documentElement.scrollWidth`); w > 400 {
		t.Errorf("the network page is %d px wide in a 400 px window", w)
	}
	viewport(t, page, 1000)
}
