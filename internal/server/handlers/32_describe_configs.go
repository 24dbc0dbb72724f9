package handlers

import (
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"samsa/internal/config"
)

// Resource types of the config APIs.
const (
	resourceTopic  int8 = 2
	resourceBroker int8 = 4
)

func init() {
	register(API{Key: 32, MinVersion: 0, MaxVersion: 4, Handle: handleDescribeConfigs})
}

func handleDescribeConfigs(env *Env, req *Request, respond Responder) {
	r := req.Kreq.(*kmsg.DescribeConfigsRequest)
	resp := r.ResponseKind().(*kmsg.DescribeConfigsResponse)
	img := env.Image()
	for _, res := range r.Resources {
		rr := kmsg.NewDescribeConfigsResponseResource()
		rr.ResourceType = kmsg.ConfigResourceType(res.ResourceType)
		rr.ResourceName = res.ResourceName
		var entries []config.Entry
		switch int8(res.ResourceType) {
		case resourceTopic:
			t := img.Topics[res.ResourceName]
			if t == nil {
				rr.ErrorCode = kerr.UnknownTopicOrPartition.Code
				break
			}
			entries = env.Config.DescribeTopic(t.Configs)
		case resourceBroker:
			if res.ResourceName != "" && res.ResourceName != strconv.Itoa(int(env.NodeID)) {
				rr.ErrorCode = kerr.InvalidRequest.Code
				msg := "describe the configs of broker " + res.ResourceName + " on that broker"
				rr.ErrorMessage = &msg
				break
			}
			entries = env.Config.Describe()
		default:
			rr.ErrorCode = kerr.InvalidRequest.Code
			msg := "unsupported resource type"
			rr.ErrorMessage = &msg
		}
		for _, e := range entries {
			if res.ConfigNames != nil && !contains(res.ConfigNames, e.Name) {
				continue
			}
			rc := kmsg.NewDescribeConfigsResponseResourceConfig()
			rc.Name = e.Name
			rc.Value = e.Value
			rc.ReadOnly = e.ReadOnly
			rc.IsDefault = e.Source == kmsg.ConfigSourceDefaultConfig
			rc.Source = kmsg.ConfigSource(e.Source)
			rc.IsSensitive = e.Sensitive
			if e.Sensitive {
				rc.Value = nil
			}
			if req.Version >= 1 && r.IncludeSynonyms {
				for _, s := range e.Synonyms {
					sy := kmsg.NewDescribeConfigsResponseResourceConfigConfigSynonym()
					sy.Name = s.Name
					sy.Value = s.Value
					sy.Source = kmsg.ConfigSource(s.Source)
					rc.ConfigSynonyms = append(rc.ConfigSynonyms, sy)
				}
			}
			if req.Version >= 3 {
				rc.ConfigType = kmsg.ConfigType(e.Type)
				if r.IncludeDocumentation && e.Doc != "" {
					doc := e.Doc
					rc.Documentation = &doc
				}
			}
			rr.Configs = append(rr.Configs, rc)
		}
		resp.Resources = append(resp.Resources, rr)
	}
	respond(resp)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
