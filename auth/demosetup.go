package auth

// What demo mode starts from: its accounts, whitelist and cookie name, and
// what it tells the newcomer who started it.

import (
	"fmt"
	"io"
)

// DemoCookieName is the demo's session cookie. It differs from every name a
// normal run defaults to, and the demo's keys exist only in its memory, so
// a demo cookie is never valid anywhere else.
const DemoCookieName = "doorman-demo"

// DemoEmails are the demo's "Sign in as" buttons (Config.DemoAccounts):
// alice is on both lists of DemoWhitelist, bob on the main list only,
// mallory on none.
func DemoEmails() []string {
	return []string{"alice@demo.example", "bob@demo.example", "mallory@demo.example"}
}

// DemoWhitelist is the whitelist demo mode writes to a temporary directory.
const DemoWhitelist = `# doorman demo whitelist. Edit and save: a change applies within a second,
# to browsers already signed in too. Try deleting alice's first line, then
# reload http://…/demo/ in the browser.
alice@demo.example
bob@demo.example

# Only these may use the GPT-4 site (/demo/gpt4/), and each of them only
# three questions a minute there: its "Ask GPT-4" button is a counted
# request, as nginx makes the model's API route one. Ask a fourth time.
[gpt4]
budget 3/minute 50/day
alice@demo.example

# mallory@demo.example is on no list: she gets the 403 page.
`

// DemoIntro tells a newcomer what to open, what to edit, and what to run
// for the real thing.
func DemoIntro(w io.Writer, base, whitelistPath string) {
	fmt.Fprintf(w, `
  ==================================================================
   DEMO MODE: anyone can sign in here, without Google.
   For trying doorman out on this machine; never for real use.
  ==================================================================

  Start here:                    %[1]s/
  The protected demo page:       %[1]s/demo/
    (and the GPT-4 one:          %[1]s/demo/gpt4/)
  Its "Ask GPT-4" button counts against a budget of three a minute: ask
  a fourth time. Your sessions:  %[1]s/sessions
  You will be sent to sign in. Try alice (on both lists), bob (main list
  only) and mallory (on no list: the 403 page).

  The demo whitelist, live: delete alice's lines, save, reload the page.
    %[2]s

  For the real thing, put nginx in front of doorman with nginx/doorman.conf
  and run doorman with your Google client ID, for example:
    doorman --client-id=1234-abc.apps.googleusercontent.com \
      --whitelist=/etc/doorman/whitelist.txt --cookie-domain=.example.com \
      --public-url=https://auth.example.com

  Ctrl-C stops the demo and deletes its whitelist.

`, base, whitelistPath)
}
