package nginx_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"doorman/auth/store"
)

// companyKey is the company's own API key: nginx sends it to the API in
// place of each person's doorman token.
const companyKey = "sk-company-3f9a1c7e5b2d4086"

// fakeOpenAI is an OpenAI-compatible API: it answers chat completions and
// the model list, and fails the test when a request lacks the company's
// key or the caller's email, or carries a doorman token, a
// Proxy-Authorization or a Cookie.
type fakeOpenAI struct {
	addr string
	mu   sync.Mutex
	seen []string // "METHOD path email" of each request, in order
}

// startFakeOpenAI starts the API on loopback; t.Cleanup stops it.
func startFakeOpenAI(t *testing.T) *fakeOpenAI {
	t.Helper()
	f := &fakeOpenAI{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		email := r.Header.Get("X-Auth-Request-Email")
		f.mu.Lock()
		f.seen = append(f.seen, r.Method+" "+r.URL.Path+" "+email)
		f.mu.Unlock()
		if problem := apiRequestProblem(r); problem != "" {
			t.Errorf("the API got %s %s with %s", r.Method, r.URL.Path, problem)
			http.Error(w, `{"error":{"message":"bad request","type":"invalid_request_error"}}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v1/chat/completions":
			answerChat(w, r, "Hello, "+email)
		case "/v1/models":
			w.Write([]byte(`{"object":"list","data":[{"id":"gpt-4o","object":"model","created":1700000000,"owned_by":"openai"}]}`))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	f.addr = srv.Listener.Addr().String()
	return f
}

// apiRequestProblem says what is wrong with a request that reached the
// API through nginx, or "" when nothing is.
func apiRequestProblem(r *http.Request) string {
	switch {
	case r.Header.Get("Authorization") != "Bearer "+companyKey:
		return "Authorization " + r.Header.Get("Authorization") + ", want the company's key"
	case r.Header.Get("X-Auth-Request-Email") == "":
		return "no X-Auth-Request-Email"
	case r.Header.Get("Proxy-Authorization") != "":
		return "a Proxy-Authorization"
	case r.Header.Get("Cookie") != "":
		return "a Cookie"
	}
	for name, vs := range r.Header {
		for _, v := range vs {
			if strings.Contains(v, "doorman_") {
				return "a doorman token in " + name
			}
		}
	}
	return ""
}

// answerChat answers a chat completion request with content: as one JSON
// object, or streamed as server-sent events in two chunks when the request
// asks for a stream.
func answerChat(w http.ResponseWriter, r *http.Request, content string) {
	var req struct {
		Stream bool `json:"stream"`
	}
	json.NewDecoder(r.Body).Decode(&req)
	if !req.Stream {
		json.NewEncoder(w).Encode(chatCompletion(content))
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	half := len(content) / 2
	for _, part := range []string{content[:half], content[half:]} {
		chunk, _ := json.Marshal(map[string]any{
			"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1700000000, "model": "gpt-4o",
			"choices": []map[string]any{{"index": 0, "delta": map[string]any{"content": part}, "finish_reason": nil}},
		})
		fmt.Fprintf(w, "data: %s\n\n", chunk)
		w.(http.Flusher).Flush()
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
}

// chatCompletion is an OpenAI chat completion answering content.
func chatCompletion(content string) map[string]any {
	return map[string]any{
		"id": "chatcmpl-1", "object": "chat.completion", "created": 1700000000, "model": "gpt-4o",
		"choices": []map[string]any{{
			"index": 0, "finish_reason": "stop", "logprobs": nil,
			"message": map[string]any{"role": "assistant", "content": content, "refusal": nil},
		}},
		"usage": map[string]any{"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
	}
}

// requests returns what reached the API so far.
func (f *fakeOpenAI) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.seen...)
}

// TestOpenAISDK: OpenAI's Go SDK, pointed at the GPT-4 site's /v1/ with a
// doorman token as its API key, calls the model through nginx (once as a
// stream), which sends the company's key instead; listing models is not counted; the third call
// of the model is over the budget of 2 a day, a 429 in OpenAI's shape; an
// ended token, a malformed one and another app's key without a session
// are 401s in OpenAI's shape; none of them reaches the API.
func TestOpenAISDK(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "doorman.db")
	s := newStack(t, alice+"\n[gpt4]\nbudget 2/day\n"+alice+"\n"+bob+"\n", "--store="+db)
	st, err := store.Open(t.Context(), db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	good := s.mustToken(t, st, alice, "gpt4")
	ended := s.mustToken(t, st, bob, "gpt4")
	if _, err := st.EndToken(t.Context(), bob, tokenIDOf(ended), store.ReasonUser, time.Now()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Second, "doorman refuses the ended token", func() bool { return s.tokenAuth(t, ended) == http.StatusUnauthorized })

	client := s.openAIClient(good)
	reply, err := client.Chat.Completions.New(t.Context(), chatParams())
	if err != nil || len(reply.Choices) != 1 || reply.Choices[0].Message.Content != "Hello, "+alice {
		t.Fatalf("chat completion with alice's token = %+v, %v; want the API's hello to %s", reply, err, alice)
	}
	if got, err := streamChat(t, client); err != nil || got != "Hello, "+alice {
		t.Fatalf("streamed chat completion with alice's token = %q, %v; want the API's hello to %s", got, err, alice)
	}
	if models, err := client.Models.List(t.Context()); err != nil || len(models.Data) != 1 {
		t.Fatalf("listing models with alice's token = %+v, %v; want the API's one model, uncounted", models, err)
	}
	_, err = client.Chat.Completions.New(t.Context(), chatParams())
	wantOpenAIError(t, "alice's third call, over her budget", err, http.StatusTooManyRequests, "rate_limit_exceeded", "budget_exceeded")

	for name, key := range map[string]string{
		"an ended token":                   ended,
		"a token with a broken checksum":   good[:len(good)-1] + flip(good[len(good)-1]),
		"another app's key and no session": "sk-not-a-doorman-token",
	} {
		c := s.openAIClient(key)
		_, err := c.Chat.Completions.New(t.Context(), chatParams())
		wantOpenAIError(t, name, err, http.StatusUnauthorized, "invalid_request_error", "invalid_api_key")
	}
	want := []string{"POST /v1/chat/completions " + alice, "POST /v1/chat/completions " + alice, "GET /v1/models " + alice}
	if got := s.openai.requests(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("the API got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestOpenAIProxyAuthorization: a doorman token in Proxy-Authorization opens
// /v1/ as one in Authorization does, whatever the client's Authorization
// holds; the API gets the company's key and never the token. The token
// opens the site's other routes too, and the app never sees it either.
func TestOpenAIProxyAuthorization(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "doorman.db")
	s := newStack(t, "[gpt4]\n"+alice+"\n", "--store="+db)
	st, err := store.Open(t.Context(), db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tok := s.mustToken(t, st, alice, "gpt4")
	client := openai.NewClient(option.WithBaseURL(s.url("gpt4", "/v1/")), option.WithAPIKey("sk-client-own-key"),
		option.WithHeader("Proxy-Authorization", "Bearer "+tok), option.WithHTTPClient(s.anon), option.WithMaxRetries(0))
	reply, err := client.Chat.Completions.New(t.Context(), chatParams())
	if err != nil || len(reply.Choices) != 1 || reply.Choices[0].Message.Content != "Hello, "+alice {
		t.Fatalf("chat completion with the token in Proxy-Authorization = %+v, %v; want the API's hello to %s", reply, err, alice)
	}
	for _, h := range []string{"Authorization", "Proxy-Authorization"} {
		for _, path := range []string{"/", modelPath} {
			resp, body := s.get(t, s.anon, s.url("gpt4", path), http.Header{h: {"Bearer " + tok}})
			if saw := wantApp(t, resp, body, "gpt4"); len(saw.Email) != 1 || saw.Email[0] != alice || len(saw.Auth) != 0 {
				t.Errorf("GET %s with the token in %s: the app saw email %q and authorization %q, want %s and none", path, h, saw.Email, saw.Auth, alice)
			}
		}
	}
}

// TestNextWebOwnAuthorization: ChatGPT-Next-Web's page sends its own
// "Authorization: Bearer nk-..." (its access code, not a doorman token) on
// /api/openai/; doorman ignores it, the session cookie decides, and the
// app gets the request.
func TestNextWebOwnAuthorization(t *testing.T) {
	t.Parallel()
	s := newStack(t, alice+"\n[gpt4]\n"+alice+"\n")
	cookie := s.siteSession(t, alice)
	own := http.Header{"Authorization": {"Bearer nk-chatgpt-next-web-access-code"}}
	resp, body := s.callModel(t, cookie, own)
	if saw := wantApp(t, resp, body, "gpt4"); len(saw.Email) != 1 || saw.Email[0] != alice || strings.Join(saw.Auth, ",") != own.Get("Authorization") {
		t.Errorf("the GPT-4 app saw email %q and authorization %q, want %s and the page's own %q", saw.Email, saw.Auth, alice, own.Get("Authorization"))
	}
	resp, body = s.callModel(t, "", own)
	if resp.StatusCode != http.StatusFound {
		t.Errorf("the same without a session = %d, want 302 to the sign-in page:\n%s", resp.StatusCode, body)
	}
}

// streamChat streams a chat completion and returns its content.
func streamChat(t *testing.T, client openai.Client) (string, error) {
	stream := client.Chat.Completions.NewStreaming(t.Context(), chatParams())
	defer stream.Close()
	var content strings.Builder
	for stream.Next() {
		for _, c := range stream.Current().Choices {
			content.WriteString(c.Delta.Content)
		}
	}
	return content.String(), stream.Err()
}

// openAIClient is OpenAI's Go SDK on the GPT-4 site's /v1/ with key as
// its API key, through nginx, trusting the test CA, never retrying.
func (s *stack) openAIClient(key string) openai.Client {
	return openai.NewClient(option.WithBaseURL(s.url("gpt4", "/v1/")), option.WithAPIKey(key),
		option.WithHTTPClient(s.anon), option.WithMaxRetries(0))
}

// chatParams is a small chat completion request.
func chatParams() openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model:    "gpt-4o",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Say hello.")},
	}
}

// wantOpenAIError fails unless err is the SDK's *openai.Error with status
// code, and the error body's type and code.
func wantOpenAIError(t *testing.T, what string, err error, code int, typ, errCode string) {
	t.Helper()
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("%s: error %v, want an *openai.Error with status %d", what, err, code)
	}
	if apiErr.StatusCode != code || apiErr.Type != typ || apiErr.Code != errCode || apiErr.Message == "" {
		t.Errorf("%s: status %d, type %q, code %q, message %q; want %d, %q, %q and a message",
			what, apiErr.StatusCode, apiErr.Type, apiErr.Code, apiErr.Message, code, typ, errCode)
	}
}

// mustToken makes a doorman token of email for lists in st, as the tokens
// page does, and waits until doorman accepts it.
func (s *stack) mustToken(t *testing.T, st store.Store, email string, lists ...string) string {
	t.Helper()
	tok := newDoormanToken()
	now := time.Now()
	err := st.CreateToken(t.Context(), store.Token{
		ID: tokenIDOf(tok), Email: email, Name: "sdk test", Prefix: tok[:12],
		Lists: lists, Created: now, Expires: now.Add(time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Second, "doorman accepts the new token", func() bool { return s.tokenAuth(t, tok) == http.StatusOK })
	return tok
}

// tokenAuth is the status of doorman's own /auth?list=gpt4 for tok.
func (s *stack) tokenAuth(t *testing.T, tok string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.doorman+"/auth?list=gpt4", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// base62 is the alphabet of doorman's tokens, in the checksum's digit order.
const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// newDoormanToken returns a fresh token in doorman's format: "doorman_",
// 32 random base62 characters and their CRC-32 in 6 base62 digits.
func newDoormanToken() string {
	body := make([]byte, 32)
	rand.Read(body)
	for i, b := range body {
		body[i] = base62[b%62]
	}
	sum := crc32.ChecksumIEEE(body)
	check := make([]byte, 6)
	for i := len(check) - 1; i >= 0; i-- {
		check[i] = base62[sum%62]
		sum /= 62
	}
	return "doorman_" + string(body) + string(check)
}

// tokenIDOf is a token's id in doorman's store: base64url of its SHA-256.
func tokenIDOf(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// flip is another base62 character than c.
func flip(c byte) string {
	if c == '0' {
		return "1"
	}
	return "0"
}
