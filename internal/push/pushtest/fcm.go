package pushtest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// FCM is a stand-in for Firebase Cloud Messaging's HTTP v1 API and
// Google's OAuth2 token endpoint, from "Authorize send requests", "Using
// OAuth 2.0 for Server to Server Applications" and the
// projects.messages.send reference:
//   - POST /token takes grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer
//     and an assertion (JWT, RS256 by the service account's key, iss =
//     client_email, scope including firebase.messaging, aud = the token
//     URL, exp no more than an hour after iat) and answers an access token;
//   - POST /v1/projects/{project}/messages:send takes "Authorization:
//     Bearer <access token>" and {"message": {"token", "data": {string:
//     string}}}; an unknown or unregistered token answers 404 NOT_FOUND
//     with errorCode UNREGISTERED.
type FCM struct {
	URL     string
	Project string
	// ServiceAccountJSON is the key file to configure the push server with.
	ServiceAccountJSON []byte
	Pushes             chan Push
	Refused            chan string
	// TokenRequests counts access tokens issued.
	TokenRequests chan struct{}

	conns atomic.Int64 // connections opened to it

	key *rsa.PrivateKey

	mu      sync.Mutex      // guards bearers, devices
	bearers map[string]bool // issued access tokens
	devices map[string]bool // registration token → active
}

// StartFCM starts an FCM stand-in for project.
func StartFCM(t testing.TB, ca *CA, project string) *FCM {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	f := &FCM{Project: project, key: key, Pushes: make(chan Push, 256), Refused: make(chan string, 256),
		TokenRequests: make(chan struct{}, 256), bearers: map[string]bool{}, devices: map[string]bool{}}
	f.URL = serveTLS(t, ca, f, &f.conns).URL
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	f.ServiceAccountJSON, _ = json.Marshal(map[string]string{
		"type": "service_account", "project_id": project,
		"client_email": "hush-push@" + project + ".iam.gserviceaccount.com",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"token_uri":    f.URL + "/token",
	})
	return f
}

// TokenURL is the OAuth2 token endpoint.
func (f *FCM) TokenURL() string { return f.URL + "/token" }

// DeviceToken registers a new app instance and returns its registration
// token.
func (f *FCM) DeviceToken() string {
	b := make([]byte, 48)
	rand.Read(b)
	tok := "fcm:" + base64.RawURLEncoding.EncodeToString(b)
	f.mu.Lock()
	f.devices[tok] = true
	f.mu.Unlock()
	return tok
}

// Unregister makes tok unregistered: later sends answer 404 UNREGISTERED.
func (f *FCM) Unregister(tok string) {
	f.mu.Lock()
	f.devices[tok] = false
	f.mu.Unlock()
}

func (f *FCM) refuse(w http.ResponseWriter, code int, status, errorCode, msg string) {
	select {
	case f.Refused <- status + " " + errorCode + ": " + msg:
	default:
	}
	e := map[string]any{"code": code, "message": msg, "status": status}
	if errorCode != "" {
		e["details"] = []map[string]string{{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": errorCode}}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]any{"error": e})
}

func (f *FCM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/token":
		f.token(w, r)
	case r.Method == http.MethodPost && r.URL.Path == "/v1/projects/"+f.Project+"/messages:send":
		f.send(w, r)
	default:
		f.refuse(w, http.StatusNotFound, "NOT_FOUND", "", r.Method+" "+r.URL.Path)
	}
}

func (f *FCM) token(w http.ResponseWriter, r *http.Request) {
	oauthErr := func(msg string) {
		select {
		case f.Refused <- "token: " + msg:
		default:
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]string{"error": "invalid_grant", "error_description": msg})
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		oauthErr("content type " + ct)
		return
	}
	if err := r.ParseForm(); err != nil {
		oauthErr(err.Error())
		return
	}
	if g := r.PostForm.Get("grant_type"); g != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		oauthErr("grant_type " + g)
		return
	}
	j, err := verifyJWT(r.PostForm.Get("assertion"), "RS256", &f.key.PublicKey)
	if err != nil {
		oauthErr(err.Error())
		return
	}
	var sa struct {
		ClientEmail string `json:"client_email"`
	}
	json.Unmarshal(f.ServiceAccountJSON, &sa)
	iat, ok1 := j.num("iat")
	exp, ok2 := j.num("exp")
	now := time.Now().Unix()
	scopes, _ := j.claims["scope"].(string)
	switch {
	case j.claims["iss"] != sa.ClientEmail:
		oauthErr(fmt.Sprintf("iss %v", j.claims["iss"]))
	case j.claims["aud"] != f.TokenURL():
		oauthErr(fmt.Sprintf("aud %v", j.claims["aud"]))
	case !strings.Contains(" "+scopes+" ", " https://www.googleapis.com/auth/firebase.messaging "):
		oauthErr("scope " + scopes)
	case !ok1 || !ok2 || exp <= iat || exp-iat > 3600 || exp <= now || iat > now+60:
		oauthErr(fmt.Sprintf("iat %d exp %d", iat, exp))
	default:
		b := make([]byte, 24)
		rand.Read(b)
		tok := "ya29." + base64.RawURLEncoding.EncodeToString(b)
		f.mu.Lock()
		f.bearers[tok] = true
		f.mu.Unlock()
		select {
		case f.TokenRequests <- struct{}{}:
		default:
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "expires_in": 3599, "token_type": "Bearer"})
	}
}

func (f *FCM) send(w http.ResponseWriter, r *http.Request) {
	bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	f.mu.Lock()
	valid := ok && f.bearers[bearer]
	f.mu.Unlock()
	if !valid {
		f.refuse(w, http.StatusUnauthorized, "UNAUTHENTICATED", "", "bad bearer")
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		f.refuse(w, http.StatusBadRequest, "INVALID_ARGUMENT", "", "content type "+ct)
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	var m struct {
		Message struct {
			Token   string                     `json:"token"`
			Data    map[string]json.RawMessage `json:"data"`
			Android *struct {
				Priority string `json:"priority"`
			} `json:"android"`
		} `json:"message"`
	}
	if err := json.Unmarshal(body, &m); err != nil || m.Message.Token == "" {
		f.refuse(w, http.StatusBadRequest, "INVALID_ARGUMENT", "", "message.token missing")
		return
	}
	// data values must be strings; the whole data is at most 4096 bytes.
	size := 0
	data := map[string]string{}
	for k, v := range m.Message.Data {
		var s string
		if json.Unmarshal(v, &s) != nil {
			f.refuse(w, http.StatusBadRequest, "INVALID_ARGUMENT", "", "data."+k+" is not a string")
			return
		}
		data[k] = s
		size += len(k) + len(s)
	}
	if size > 4096 {
		f.refuse(w, http.StatusBadRequest, "INVALID_ARGUMENT", "MESSAGE_TOO_BIG", "data over 4096 bytes")
		return
	}
	if a := m.Message.Android; a != nil && a.Priority != "" && a.Priority != "HIGH" && a.Priority != "NORMAL" {
		f.refuse(w, http.StatusBadRequest, "INVALID_ARGUMENT", "", "android.priority "+a.Priority)
		return
	}
	f.mu.Lock()
	active, known := f.devices[m.Message.Token]
	f.mu.Unlock()
	if !known || !active {
		f.refuse(w, http.StatusNotFound, "NOT_FOUND", "UNREGISTERED", "Requested entity was not found.")
		return
	}
	payload, err := base64.RawURLEncoding.DecodeString(data["hush"])
	if err != nil {
		f.refuse(w, http.StatusBadRequest, "INVALID_ARGUMENT", "", "data.hush")
		return
	}
	select {
	case f.Pushes <- Push{Endpoint: m.Message.Token, Payload: payload, Header: r.Header.Clone()}:
	default:
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{"name": "projects/" + f.Project + "/messages/0:1"})
}

// Conns is how many connections clients have opened to the stand-in, so
// that tests can tell that a provider reuses its connections.
func (x *FCM) Conns() int64 { return x.conns.Load() }
