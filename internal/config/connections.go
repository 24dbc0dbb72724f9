package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// parseConnectionOverrides parses max.connections.per.ip.overrides: a
// comma-separated list of host:count, where host is a name or an address
// (an IPv6 address may be written in brackets). An empty value is no
// overrides.
func parseConnectionOverrides(value string) (map[string]int32, error) {
	overrides := make(map[string]int32)
	for _, item := range splitList(value) {
		separator := strings.LastIndex(item, ":")
		if separator <= 0 {
			return nil, fmt.Errorf("%q is not host:count", item)
		}
		host := strings.TrimSpace(item[:separator])
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
		count, err := strconv.ParseInt(strings.TrimSpace(item[separator+1:]), 10, 32)
		if err != nil || count < 0 {
			return nil, fmt.Errorf("%q: count must be a non-negative int", item)
		}
		if host == "" {
			return nil, errors.New("empty host")
		}
		overrides[host] = int32(count)
	}
	return overrides, nil
}

func validConnectionOverrides(value string) error {
	_, err := parseConnectionOverrides(value)
	return err
}
