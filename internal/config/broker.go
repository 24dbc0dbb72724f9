package config

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// EnvPrefix starts every environment variable that sets a broker config.
const EnvPrefix = "SAMSA_"

// layer is one set of explicitly given values and the source they report.
type layer struct {
	source Source
	values map[string]string
}

// Broker is the validated broker configuration. The typed fields are
// derived from the layered values (defaults < file < env < overrides <
// dynamic cluster default < dynamic per-broker).
type Broker struct {
	NodeID                               int32
	ProcessRoles                         []string
	Listeners                            []Listener
	AdvertisedListeners                  []Listener
	SecurityProtocols                    map[string]string // listener name -> protocol
	ControllerListenerNames              []string
	InterBrokerListenerName              string
	Voters                               []Voter
	LogDirs                              []string
	MetadataLogDir                       string
	ClusterID                            string
	NumPartitions                        int32
	DefaultReplicationFactor             int16
	AutoCreateTopics                     bool
	DeleteTopicEnable                    bool
	RetentionMs                          int64
	RetentionBytes                       int64
	SegmentBytes                         int64
	RollMs                               int64
	MessageMaxBytes                      int32
	SocketRequestMaxBytes                int32
	SocketSendBufferBytes                int32
	SocketReceiveBufferBytes             int32
	QueuedMaxRequests                    int32
	MaxConnections                       int32
	MaxConnectionsPerIP                  int32
	MaxConnectionsPerIPOverrides         map[string]int32 // host or address -> limit
	QueuedMaxRequestBytes                int64            // <= 0: unbounded
	ConnectionsMaxIdleMs                 int64
	Rack                                 string
	MinInsyncReplicas                    int32
	CompressionType                      string
	OffsetsTopicNumPartitions            int32
	OffsetsTopicReplicationFactor        int16
	GroupInitialRebalanceDelayMs         int32
	GroupMinSessionTimeoutMs             int32
	GroupMaxSessionTimeoutMs             int32
	TransactionStateLogNumPartitions     int32
	TransactionStateLogReplicationFactor int16
	TransactionMaxTimeoutMs              int32
	ProducerIDExpirationMs               int64
	FetchMaxBytes                        int32
	ReplicaLagTimeMaxMs                  int64
	UncleanLeaderElection                bool

	layers []layer // lowest precedence first; defaults are implicit
}

// Default returns the configuration with every key at its default.
func Default() *Broker {
	broker, err := build([]layer{{source: kmsg.ConfigSourceStaticBrokerConfig, values: map[string]string{}}})
	if err != nil {
		panic("config: defaults are invalid: " + err.Error())
	}
	return broker
}

// Load reads the properties file at path (none when path is empty), then
// the SAMSA_* variables of env, then the "key=value" overrides, each
// overriding the one before, validates everything and derives the typed
// fields. Errors name the offending key and wrap ErrInvalidConfig.
func Load(path string, overrides []string, env []string) (*Broker, error) {
	static := make(map[string]string)
	if path != "" {
		if err := loadFile(path, static); err != nil {
			return nil, err
		}
	}
	if err := loadEnv(env, static); err != nil {
		return nil, err
	}
	for _, override := range overrides {
		key, value, found := strings.Cut(override, "=")
		key = strings.TrimSpace(key)
		if !found {
			return nil, fmt.Errorf("%w: override %q is not key=value", ErrInvalidConfig, override)
		}
		if err := checkBrokerKey(key, value); err != nil {
			return nil, err
		}
		static[key] = value
	}
	return build([]layer{{source: kmsg.ConfigSourceStaticBrokerConfig, values: static}})
}

func loadFile(path string, into map[string]string) error {
	file, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	defer file.Close()
	text, err := io.ReadAll(io.LimitReader(file, maxPropertiesSize+1))
	if err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	if len(text) > maxPropertiesSize {
		return fmt.Errorf("%w: config file %s is larger than %d bytes", ErrInvalidConfig, path, maxPropertiesSize)
	}
	properties, err := ParseProperties(string(text))
	if err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	for _, property := range properties {
		if err := checkBrokerKey(property.Key, property.Value); err != nil {
			return fmt.Errorf("config file %s line %d: %w", path, property.Line, err)
		}
		into[property.Key] = property.Value
	}
	return nil
}

// EnvName returns the environment variable that sets a broker config.
func EnvName(key string) string {
	return EnvPrefix + strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(key))
}

var envIndex = func() map[string]string {
	index := make(map[string]string, len(brokerDefinitions))
	for _, definition := range brokerDefinitions {
		index[EnvName(definition.Name)] = definition.Name
	}
	return index
}()

// IgnoredEnv returns the SAMSA_* variables of env that name no broker
// config, so that the caller can warn about a likely typo.
func IgnoredEnv(env []string) []string {
	var out []string
	for _, variable := range env {
		name, _, _ := strings.Cut(variable, "=")
		if _, ok := envIndex[name]; strings.HasPrefix(name, EnvPrefix) && !ok {
			out = append(out, name)
		}
	}
	return out
}

func loadEnv(env []string, into map[string]string) error {
	for _, variable := range env {
		name, value, _ := strings.Cut(variable, "=")
		if !strings.HasPrefix(name, EnvPrefix) {
			continue
		}
		key, ok := envIndex[name]
		if !ok {
			// SAMSA_* also names settings of tools and tests; only the
			// names of broker configs are read. The caller warns about
			// the others (IgnoredEnv).
			continue
		}
		if err := checkBrokerKey(key, value); err != nil {
			return fmt.Errorf("environment variable %s: %w", name, err)
		}
		into[key] = value
	}
	return nil
}

func checkBrokerKey(key, value string) error {
	definition, ok := brokerIndex[key]
	if !ok {
		return fmt.Errorf("%w: %w: %s", ErrInvalidConfig, ErrUnknownConfig, key)
	}
	return definition.check(value)
}

// ValidateBrokerConfigs checks configs meant to be altered dynamically on a
// broker resource: every key must be known, dynamic and valid.
func ValidateBrokerConfigs(configs map[string]string) error {
	for _, key := range sortedKeys(configs) {
		if err := checkBrokerKey(key, configs[key]); err != nil {
			return err
		}
		if !brokerIndex[key].Dynamic {
			return fmt.Errorf("%w: %s cannot be updated dynamically", ErrInvalidConfig, key)
		}
	}
	return nil
}

// WithDynamic returns a copy of b with dynamic broker configs layered on
// top: clusterDefault (DYNAMIC_DEFAULT_BROKER_CONFIG) then perBroker
// (DYNAMIC_BROKER_CONFIG). Either map may be nil.
func (b *Broker) WithDynamic(perBroker, clusterDefault map[string]string) (*Broker, error) {
	layers := []layer{b.layers[0]}
	if len(clusterDefault) > 0 {
		layers = append(layers, layer{source: kmsg.ConfigSourceDynamicDefaultBrokerConfig, values: clusterDefault})
	}
	if len(perBroker) > 0 {
		layers = append(layers, layer{source: kmsg.ConfigSourceDynamicBrokerConfig, values: perBroker})
	}
	for _, extra := range layers[1:] {
		if err := ValidateBrokerConfigs(extra.values); err != nil {
			return nil, err
		}
	}
	return build(layers)
}

// lookup returns the effective raw value of key, its source, and whether it
// has a value at all (explicitly or by default).
func (b *Broker) lookup(key string) (string, Source, bool) {
	for index := len(b.layers) - 1; index >= 0; index-- {
		if value, ok := b.layers[index].values[key]; ok {
			return strings.TrimSpace(value), b.layers[index].source, true
		}
	}
	definition, ok := brokerIndex[key]
	if !ok || definition.NoDefault {
		return "", kmsg.ConfigSourceDefaultConfig, false
	}
	return definition.Default, kmsg.ConfigSourceDefaultConfig, true
}

// IsSet reports whether key was given explicitly (not a default).
func (b *Broker) IsSet(key string) bool {
	_, source, ok := b.lookup(key)
	return ok && source != kmsg.ConfigSourceDefaultConfig
}

// Value returns the effective value of a broker config and whether it has one.
func (b *Broker) Value(key string) (string, bool) {
	value, _, ok := b.lookup(key)
	return value, ok
}

// Int64 returns the effective value of a numeric config (0 if unset or not a
// number; every numeric config has a validated default).
func (b *Broker) Int64(key string) int64 { return b.int64Value(key) }

func (b *Broker) int64Value(key string) int64 {
	value, _, _ := b.lookup(key)
	number, _ := strconv.ParseInt(value, 10, 64)
	return number
}

func (b *Broker) boolValue(key string) bool {
	value, _, _ := b.lookup(key)
	result, _ := parseBool(value)
	return result
}

func (b *Broker) stringValue(key string) string {
	value, _, _ := b.lookup(key)
	return value
}

func sortedKeys(values map[string]string) []string {
	keys := make([]string, 0, len(values))
	for key := range values {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	return keys
}
