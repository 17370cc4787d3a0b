package oauth

import "strings"

// describeDevice names the browser and system of a User-Agent header in a
// few words ("Firefox on Linux"), for the user's list of their sessions.
// It recognises the common browsers only: the list helps a user tell
// their sessions apart, it proves nothing (any client sends any
// User-Agent). An unrecognised header is kept, cut short.
func describeDevice(ua string) string {
	browser := firstMatch(ua, []match{
		{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"Firefox/", "Firefox"}, {"Chromium/", "Chromium"},
		{"HeadlessChrome/", "Chrome"}, {"Chrome/", "Chrome"}, {"CriOS/", "Chrome"}, {"FxiOS/", "Firefox"},
		{"Safari/", "Safari"}, {"curl/", "curl"},
	})
	system := firstMatch(ua, []match{
		{"Android", "Android"}, {"iPhone", "iPhone"}, {"iPad", "iPad"}, {"Windows", "Windows"},
		{"Mac OS X", "macOS"}, {"CrOS", "ChromeOS"}, {"Linux", "Linux"},
	})
	switch {
	case browser != "" && system != "":
		return browser + " on " + system
	case browser != "":
		return browser
	case system != "":
		return system
	}
	ua = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, ua)
	if len(ua) > 60 {
		ua = strings.ToValidUTF8(ua[:60], "") + "…"
	}
	return ua
}

type match struct{ needle, name string }

func firstMatch(s string, ms []match) string {
	for _, m := range ms {
		if strings.Contains(s, m.needle) {
			return m.name
		}
	}
	return ""
}
