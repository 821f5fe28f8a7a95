package templates

// messagesEN is every page's text in English, the default language. Keys
// are section.name; {0}, {1} are filled in by "t" and "tb". A key added
// here must be added to every other messages_*.go (TestMessagesComplete).
var messagesEN = map[string]string{
	"nav.languages": "Language",
	"demo.banner":   "Anyone can sign in here without Google. For trying doorman out; never for a real site.",
	"list.main":     "main",
	"list.sep":      ", ",

	"action.sign_in":  "Sign in",
	"action.sign_out": "Sign out",

	"login.title":           "Sign in",
	"login.lead":            "This site is private. Sign in with your Google account to continue.",
	"login.lead_site":       "The {0} site is private. Sign in with your Google account to continue.",
	"login.signed_out":      "You have signed out.",
	"login.demo_lead":       "Pick an account: no password, no Google. The whitelist decides, exactly as it would for real.",
	"login.demo_heading":    "Demo accounts",
	"login.demo_as":         "Sign in as {0}",
	"login.demo_lists":      "On the lists: {0}",
	"login.demo_nolist":     "On no list",
	"login.no_button":       "Google's sign-in button has not appeared.",
	"login.no_button_check": "It needs JavaScript and a connection to accounts.google.com. Check that neither is blocked here (by a browser setting, a content blocker, a firewall or a proxy), then reload this page. If the button still does not appear, tell whoever runs this site.",
	"login.reload":          "Reload this page",

	"signedin.title":      "You are signed in",
	"signedin.as":         "Signed in as {0}.",
	"signedin.lists":      "You may use the sites for:",
	"signedin.no_lists":   "This account is no longer on any list.",
	"signedin.demo_pages": "Open the protected demo pages:",

	"forbidden.title":         "Not on the list",
	"forbidden.body":          "You are signed in as {0}, which is not on the list for this site.",
	"forbidden.body_site":     "You are signed in as {0}, which is not on the list for the {1} site.",
	"forbidden.other_lists":   "This account may use the sites for: {0}.",
	"forbidden.no_list":       "This account is not on any list. Ask an administrator to add it, or use another account.",
	"forbidden.not_signed_in": "The account {0} is not on any list, so you have not been signed in.",
	"forbidden.ask":           "Ask an administrator to add it, or use another account.",
	"forbidden.switch":        "Use another account",

	"error.code":       "Error {0}",
	"error.401.title":  "Sign-in failed",
	"error.401.body":   "Google's answer could not be verified. Please sign in again.",
	"error.401.action": "Sign in again",
	"error.503.title":  "Google could not be reached",
	"error.503.body":   "Signing in needs Google, which did not answer just now. Please try again in a moment.",
	"error.503.action": "Try again",
	"error.404.title":  "Not found",
	"error.404.body":   "There is nothing here.",
	"error.429.title":  "Too many requests",
	"error.429.body":   "Please wait a moment, then try again.",
	"error.400.title":  "Bad request",
	"error.400.body":   "The request could not be understood. Please start again from the site you wanted to use.",
	"error.500.title":  "Something went wrong",
	"error.500.body":   "doorman hit an unexpected problem. It has been logged.",

	"demopage.title":     "Protected demo page",
	"demopage.site":      "Site: {0}",
	"demopage.in":        "You are in as {0}.",
	"demopage.how":       "doorman's /auth said yes to this browser's session cookie for this site's list. Behind nginx, your app gets the address in the X-Auth-Request-Email header.",
	"demopage.try":       "Try it: remove {0} from the demo whitelist (its path is printed where doorman runs), save, and reload this page.",
	"demopage.main_link": "Demo page for the main list",
	"demopage.gpt4_link": "Demo page for the gpt4 list",
	"demopage.home_link": "Your doorman page",
}
