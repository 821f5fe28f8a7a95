package auth

// Sign-in from a terminal (RFC 8628's device authorization grant): a
// program asks for a code at /device/code, a person who is signed in
// approves it at /device, and the program polls /device/token until it
// gets a personal token. The JSON endpoints answer in RFC 6749's error
// shape; the store keeps only a hash of each device code.

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"doorman/auth/store"
)

const (
	deviceCodeTTL   = 10 * time.Minute    // how long a device code may be approved and redeemed
	deviceInterval  = 5 * time.Second     // how often a program may poll /device/token
	deviceTokenTTL  = 30 * 24 * time.Hour // the lifetime of a token from device sign-in
	deviceTokenName = "device sign-in"    // a token's name when the program asked for none
	deviceGrantType = "urn:ietf:params:oauth:grant-type:device_code"
	deviceCodeBytes = 32 // random bytes of a device code (256 bits)
	userCodeTries   = 3  // new user codes tried when one is taken
)

// deviceCodeAnswer is /device/code's JSON answer.
type deviceCodeAnswer struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int    `json:"expires_in"`
	Interval                int    `json:"interval"`
}

// tokenAnswer is /device/token's JSON answer on approval.
type tokenAnswer struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
}

// oauthError is the JSON error of the device endpoints.
type oauthError struct {
	Error string `json:"error"`
}

// jsonError answers code with {"error": name}, never cached.
func jsonError(c echo.Context, code int, name string) error {
	c.Response().Header()["Cache-Control"] = []string{"no-store"}
	return c.JSON(code, oauthError{name})
}

// jsonStoreError answers a store failure: 503 temporarily_unavailable when
// it cannot be reached, else a 500 (logged).
func (h *Handler) jsonStoreError(c echo.Context, err error) error {
	if errors.Is(err, store.ErrUnavailable) {
		return jsonError(c, http.StatusServiceUnavailable, "temporarily_unavailable")
	}
	h.logger.Error("device sign-in store error", "path", c.Request().URL.Path, "err", err)
	return jsonError(c, http.StatusInternalServerError, "server_error")
}

// deviceCode handles "POST /device/code" (form: list, one or more times,
// "" the main list; name, optional): a new device code and its user code,
// as RFC 8628 section 3.2 answers.
func (h *Handler) deviceCode(c echo.Context) error {
	r := c.Request()
	r.Body = http.MaxBytesReader(c.Response(), r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		return jsonError(c, http.StatusBadRequest, "invalid_request")
	}
	now := h.now()
	code := newDeviceCode()
	d := store.DeviceCode{ID: tokenID(tokenHash(code)), Name: r.PostForm.Get("name"), Lists: r.PostForm["list"],
		IP: c.RealIP(), Created: now, Expires: now.Add(deviceCodeTTL), Interval: deviceInterval}
	if len(d.Lists) == 0 {
		return jsonError(c, http.StatusBadRequest, "invalid_request")
	}
	ctx, cancel := h.storeContext(c)
	defer cancel()
	var err error
	for range userCodeTries {
		d.UserCode = newUserCode()
		if err = h.store.CreateDeviceCode(ctx, d); !errors.Is(err, store.ErrConflict) {
			break
		}
	}
	switch {
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, store.ErrConflict):
		return h.jsonStoreError(c, err)
	case err != nil: // the store refused what was asked for: a name or list that cannot be
		h.logger.Debug("device code refused", "err", err)
		return jsonError(c, http.StatusBadRequest, "invalid_request")
	}
	uri := h.publicURL + "/device"
	c.Response().Header()["Cache-Control"] = []string{"no-store"}
	return c.JSON(http.StatusOK, deviceCodeAnswer{DeviceCode: code, UserCode: showUserCode(d.UserCode),
		VerificationURI: uri, VerificationURIComplete: uri + "?code=" + showUserCode(d.UserCode),
		ExpiresIn: int(deviceCodeTTL / time.Second), Interval: int(deviceInterval / time.Second)})
}

// deviceToken handles "POST /device/token" (form: grant_type, device_code):
// RFC 8628 section 3.4's polling. 400 with authorization_pending,
// slow_down, access_denied, expired_token, invalid_grant or
// unsupported_grant_type; on approval 200 with a new token, made once.
func (h *Handler) deviceToken(c echo.Context) error {
	r := c.Request()
	r.Body = http.MaxBytesReader(c.Response(), r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		return jsonError(c, http.StatusBadRequest, "invalid_request")
	}
	if r.PostForm.Get("grant_type") != deviceGrantType {
		return jsonError(c, http.StatusBadRequest, "unsupported_grant_type")
	}
	code := r.PostForm.Get("device_code")
	if code == "" {
		return jsonError(c, http.StatusBadRequest, "invalid_request")
	}
	ctx, cancel := h.storeContext(c)
	defer cancel()
	now := h.now()
	id := tokenID(tokenHash(code))
	d, err := h.store.PollDeviceCode(ctx, id, now)
	if err != nil {
		return h.pollError(c, err)
	}
	if d.Status != store.DeviceApproved {
		return jsonError(c, http.StatusBadRequest, pollRefusal(d, now))
	}
	return h.redeem(c, d, now)
}

// pollError answers a failed PollDeviceCode.
func (h *Handler) pollError(c echo.Context, err error) error {
	switch {
	case errors.Is(err, store.ErrExpired):
		return jsonError(c, http.StatusBadRequest, "expired_token")
	case errors.Is(err, store.ErrNotFound):
		return jsonError(c, http.StatusBadRequest, "invalid_grant")
	}
	return h.jsonStoreError(c, err)
}

// pollRefusal is the error a poll at now of the device code d, not
// approved, hears; d is as it was before this poll.
func pollRefusal(d store.DeviceCode, now time.Time) string {
	switch d.Status {
	case store.DeviceDenied:
		return "access_denied"
	case store.DeviceRedeemed:
		return "invalid_grant"
	}
	if !d.LastPoll.IsZero() && now.Sub(d.LastPoll) < d.Interval {
		return "slow_down"
	}
	return "authorization_pending"
}

// redeem turns the approved device code d into a new token, once.
func (h *Handler) redeem(c echo.Context, d store.DeviceCode, now time.Time) error {
	tok := newPersonalToken()
	name := d.Name
	if name == "" {
		name = deviceTokenName
	}
	t := store.Token{ID: tokenID(tokenHash(tok)), Name: name, Prefix: tok[:tokenShown], Created: now, Expires: now.Add(deviceTokenTTL)}
	ctx, cancel := h.storeContext(c)
	defer cancel()
	d, err := h.store.RedeemDeviceCode(ctx, d.ID, t, now)
	switch {
	case errors.Is(err, store.ErrConflict):
		return jsonError(c, http.StatusBadRequest, "invalid_grant")
	case errors.Is(err, store.ErrNotFound):
		return jsonError(c, http.StatusBadRequest, "expired_token")
	case err != nil:
		return h.jsonStoreError(c, err)
	}
	h.logger.Info("token created", "email", d.Approver, "name", name, "id", t.ID[:8], "via", "device")
	c.Response().Header()["Cache-Control"] = []string{"no-store"}
	return c.JSON(http.StatusOK, tokenAnswer{AccessToken: tok, TokenType: "Bearer", ExpiresIn: int(deviceTokenTTL / time.Second)})
}

// revokeToken handles "POST /tokens/revoke" with "Authorization: Bearer
// <token>": ends that very token (doorman logout). 200 {"revoked": true};
// 401 {"error": "invalid_token"} for a malformed, unknown or ended token.
func (h *Handler) revokeToken(c echo.Context) error {
	tok, ok := bearerToken(c.Request())
	if !ok || !wellFormedToken(tok) {
		return jsonError(c, http.StatusUnauthorized, "invalid_token")
	}
	ctx, cancel := h.storeContext(c)
	defer cancel()
	t, err := h.store.EndToken(ctx, "", tokenID(tokenHash(tok)), store.ReasonUser, h.now())
	switch {
	case errors.Is(err, store.ErrNotFound):
		return jsonError(c, http.StatusUnauthorized, "invalid_token")
	case err != nil:
		return h.jsonStoreError(c, err)
	}
	h.logger.Info("token ended", "email", t.Email, "name", t.Name, "id", t.ID[:8], "via", "revoke")
	c.Response().Header()["Cache-Control"] = []string{"no-store"}
	return c.JSON(http.StatusOK, map[string]bool{"revoked": true})
}

// newDeviceCode returns a fresh device code: 256 random bits, base64url.
func newDeviceCode() string {
	b := make([]byte, deviceCodeBytes)
	rand.Read(b) // never fails (crypto/rand panics on failure)
	return base64.RawURLEncoding.EncodeToString(b)
}

// newUserCode returns 8 random letters of store.UserCodeAlphabet.
func newUserCode() string {
	const alphabet = store.UserCodeAlphabet
	limit := byte(256 - 256%len(alphabet)) // keep the choice uniform
	b := make([]byte, 8)
	var r [1]byte
	for i := 0; i < len(b); {
		rand.Read(r[:])
		if r[0] >= limit {
			continue
		}
		b[i] = alphabet[int(r[0])%len(alphabet)]
		i++
	}
	return string(b)
}

// showUserCode is a user code as people see it: XXXX-XXXX.
func showUserCode(code string) string {
	if len(code) != 8 {
		return code
	}
	return code[:4] + "-" + code[4:]
}
