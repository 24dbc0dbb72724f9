package handlers

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() {
	register(API{Key: 18, MinVersion: 0, MaxVersion: 4, Handle: handleAPIVersions})
}

func handleAPIVersions(env *Env, req *Request, respond Responder) {
	r := req.Kreq.(*kmsg.ApiVersionsRequest)
	resp := r.ResponseKind().(*kmsg.ApiVersionsResponse)
	resp.ApiKeys = apiKeys(env, req.Listener)
	if req.Version >= 3 && !validClientSoftware(r.ClientSoftwareName, r.ClientSoftwareVersion) {
		resp.ErrorCode = kerr.InvalidRequest.Code
	}
	respond(resp)
}

// apiKeys lists the APIs served on the named listener.
func apiKeys(env *Env, listener string) []kmsg.ApiVersionsResponseApiKey {
	all := All()
	keys := make([]kmsg.ApiVersionsResponseApiKey, 0, len(all))
	for _, a := range all {
		if !env.Serves(listener, a.Key) {
			continue
		}
		keys = append(keys, kmsg.ApiVersionsResponseApiKey{ApiKey: a.Key, MinVersion: a.MinVersion, MaxVersion: a.MaxVersion})
	}
	return keys
}

// APIVersionsFallback is the KIP-511 answer to an ApiVersions request of a
// version this broker does not know: a v0 body with UNSUPPORTED_VERSION and
// the ApiVersions range, so the client retries with a version we speak.
func APIVersionsFallback() kmsg.Response {
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.Version = 0
	resp.ErrorCode = kerr.UnsupportedVersion.Code
	a, _ := Lookup(18)
	resp.ApiKeys = []kmsg.ApiVersionsResponseApiKey{{ApiKey: 18, MinVersion: a.MinVersion, MaxVersion: a.MaxVersion}}
	return resp
}

// validClientSoftware applies KIP-511's rule: name and version, when given,
// are non-empty and made of letters, digits, '.' and '-' (and must
// start and end with a letter or digit).
func validClientSoftware(name, version string) bool {
	return validSoftwareString(name) && validSoftwareString(version)
}

func validSoftwareString(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range []byte(s) {
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || i == len(s)-1 || c != '.' && c != '-') {
			return false
		}
	}
	return true
}
