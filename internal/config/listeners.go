package config

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Listener is one parsed entry of listeners or advertised.listeners.
type Listener struct {
	Name string // upper-case listener name, e.g. PLAINTEXT
	Host string // empty means all interfaces
	Port int
}

// String renders the listener as NAME://host:port.
func (listener Listener) String() string {
	return listener.Name + "://" + net.JoinHostPort(listener.Host, strconv.Itoa(listener.Port))
}

// Voter is one member of controller.quorum.voters.
type Voter struct {
	ID   int32
	Host string
	Port int
}

// Address returns host:port.
func (voter Voter) Address() string {
	return net.JoinHostPort(voter.Host, strconv.Itoa(voter.Port))
}

// ParseListeners parses a comma-separated list of NAME://host:port entries.
func ParseListeners(value string) ([]Listener, error) {
	var listeners []Listener
	seen := make(map[string]bool)
	for _, item := range splitList(value) {
		name, address, found := strings.Cut(item, "://")
		if !found || name == "" {
			return nil, fmt.Errorf("listener %q is not NAME://host:port", item)
		}
		host, port, err := splitHostPort(address)
		if err != nil {
			return nil, fmt.Errorf("listener %q: %v", item, err)
		}
		name = strings.ToUpper(name)
		if seen[name] {
			return nil, fmt.Errorf("listener name %s repeated", name)
		}
		seen[name] = true
		listeners = append(listeners, Listener{Name: name, Host: host, Port: port})
	}
	return listeners, nil
}

func splitHostPort(address string) (string, int, error) {
	host, portText, err := net.SplitHostPort(address)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("bad port %q", portText)
	}
	return host, port, nil
}

func validateListeners(value string) error {
	_, err := ParseListeners(value)
	return err
}

// ParseVoters parses controller.quorum.voters: id@host:port,...
func ParseVoters(value string) ([]Voter, error) {
	var voters []Voter
	seen := make(map[int32]bool)
	for _, item := range splitList(value) {
		idText, address, found := strings.Cut(item, "@")
		if !found {
			return nil, fmt.Errorf("voter %q is not id@host:port", item)
		}
		id, err := strconv.ParseInt(idText, 10, 32)
		if err != nil || id < 0 {
			return nil, fmt.Errorf("voter %q has a bad id", item)
		}
		host, port, err := splitHostPort(address)
		if err != nil || host == "" || port == 0 {
			return nil, fmt.Errorf("voter %q has a bad address", item)
		}
		if seen[int32(id)] {
			return nil, fmt.Errorf("voter id %d repeated", id)
		}
		seen[int32(id)] = true
		voters = append(voters, Voter{ID: int32(id), Host: host, Port: port})
	}
	if len(voters) == 0 {
		return nil, errors.New("no voters")
	}
	return voters, nil
}

func validateVoters(value string) error {
	_, err := ParseVoters(value)
	return err
}

var securityProtocols = []string{"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"}

// ParseProtocolMap parses listener.security.protocol.map (NAME:PROTOCOL,...).
func ParseProtocolMap(value string) (map[string]string, error) {
	protocols := make(map[string]string)
	validProtocol := oneOf(securityProtocols...)
	for _, item := range splitList(value) {
		name, protocol, found := strings.Cut(item, ":")
		name, protocol = strings.ToUpper(strings.TrimSpace(name)), strings.ToUpper(strings.TrimSpace(protocol))
		if !found || name == "" {
			return nil, fmt.Errorf("entry %q is not NAME:PROTOCOL", item)
		}
		if err := validProtocol(protocol); err != nil {
			return nil, fmt.Errorf("entry %q: %v", item, err)
		}
		protocols[name] = protocol
	}
	return protocols, nil
}

func validateProtocolMap(value string) error {
	_, err := ParseProtocolMap(value)
	return err
}
