package main

import "testing"

func TestBaselinesAlwaysRun(t *testing.T) {
	for _, name := range []string{scenarioBare, scenarioHealth} {
		if !selected("cc-secret", scenario{name: name}) {
			t.Errorf("-only cc-secret leaves out the baseline %s", name)
		}
	}
	if selected("cc-secret", scenario{name: "jwks"}) {
		t.Error("-only cc-secret selects jwks")
	}
	if !selected("code-exchange", scenario{name: "code-exchange-no-idtoken", group: "code-exchange"}) {
		t.Error("-only code-exchange leaves out its group")
	}
}

func TestRatiosAreOfBothBaselines(t *testing.T) {
	rows := []row{
		{Scenario: scenarioBare, RPS: 40_000, PeakRSSMiB: 1},
		{Scenario: scenarioHealth, RPS: 20_000, PeakRSSMiB: 1},
		{Scenario: "cc-secret", RPS: 10_000, PeakRSSMiB: 1},
		{Scenario: "argon2id alone (in process)", RPS: 30}, // measured in the harness
	}
	rates := map[string]float64{}
	for _, r := range rows[:3] {
		rates[r.Scenario] = r.RPS
	}
	ratios(rows, rates)
	want := []struct{ bare, health float64 }{{1, 2}, {0.5, 1}, {0.25, 0.5}, {0, 0}}
	for i, w := range want {
		if rows[i].OfBare != w.bare || rows[i].OfHealth != w.health {
			t.Errorf("%s: × bare %v, × health %v; want %v, %v", rows[i].Scenario, rows[i].OfBare, rows[i].OfHealth, w.bare, w.health)
		}
	}
}
