// Package config holds Samsa's broker and topic configuration, using Apache
// Kafka's names, types, defaults and DescribeConfigs semantics.
package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// ErrInvalidConfig is wrapped by every error about an unknown key or a bad value.
var ErrInvalidConfig = errors.New("invalid config")

// ErrUnknownConfig is wrapped (together with ErrInvalidConfig) when a key is not known.
var ErrUnknownConfig = errors.New("unknown config")

// Type is a Kafka config type as reported by DescribeConfigs.
type Type = kmsg.ConfigType

// Source is a Kafka config source as reported by DescribeConfigs.
type Source = kmsg.ConfigSource

// Definition describes one configuration key.
type Definition struct {
	Name      string
	Type      Type
	Default   string // "" with HasDefault false means null (no default)
	NoDefault bool   // true when the Kafka default is null
	Validate  func(value string) error
	Doc       string
	Dynamic   bool // may be altered at runtime (DescribeConfigs read-only = !Dynamic)
	Sensitive bool
}

// Synonym is one alternative source of a config's value, in precedence order.
type Synonym struct {
	Name   string
	Value  *string
	Source Source
}

// Entry is one config as reported by DescribeConfigs.
type Entry struct {
	Name      string
	Value     *string // nil for sensitive configs or null defaults
	Source    Source
	IsDefault bool
	ReadOnly  bool
	Sensitive bool
	Type      Type
	Doc       string
	Synonyms  []Synonym
}

// checkType verifies that value parses as typ and runs the extra validator.
func (definition *Definition) check(value string) error {
	if err := checkType(definition.Type, value); err != nil {
		return fmt.Errorf("%w: %s=%q: %v", ErrInvalidConfig, definition.Name, value, err)
	}
	if definition.Validate != nil {
		if err := definition.Validate(strings.TrimSpace(value)); err != nil {
			return fmt.Errorf("%w: %s=%q: %v", ErrInvalidConfig, definition.Name, value, err)
		}
	}
	return nil
}

func checkType(typ Type, value string) error {
	value = strings.TrimSpace(value)
	var err error
	switch typ {
	case kmsg.ConfigTypeBoolean:
		_, err = parseBool(value)
	case kmsg.ConfigTypeInt:
		_, err = strconv.ParseInt(value, 10, 32)
	case kmsg.ConfigTypeShort:
		_, err = strconv.ParseInt(value, 10, 16)
	case kmsg.ConfigTypeLong:
		_, err = strconv.ParseInt(value, 10, 64)
	case kmsg.ConfigTypeDouble:
		var number float64
		number, err = strconv.ParseFloat(value, 64)
		if err == nil && (math.IsNaN(number) || math.IsInf(number, 0)) {
			err = errors.New("not a finite number")
		}
	}
	if err != nil {
		return fmt.Errorf("not a valid %s", typeName(typ))
	}
	return nil
}

func typeName(typ Type) string {
	switch typ {
	case kmsg.ConfigTypeBoolean:
		return "boolean"
	case kmsg.ConfigTypeInt:
		return "int"
	case kmsg.ConfigTypeShort:
		return "short"
	case kmsg.ConfigTypeLong:
		return "long"
	case kmsg.ConfigTypeDouble:
		return "double"
	case kmsg.ConfigTypeList:
		return "list"
	}
	return "string"
}

func parseBool(value string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(value)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, errors.New("not a boolean")
}

// splitList splits a Kafka LIST value on commas, trimming blanks and dropping empties.
func splitList(value string) []string {
	var items []string
	for _, item := range strings.Split(value, ",") {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	return items
}

// atLeast returns a validator for integers >= minimum.
func atLeast(minimum int64) func(string) error {
	return func(value string) error {
		number, err := strconv.ParseInt(value, 10, 64)
		if err != nil {
			return err
		}
		if number < minimum {
			return fmt.Errorf("must be at least %d", minimum)
		}
		return nil
	}
}

// between returns a validator for doubles in [minimum, maximum].
func between(minimum, maximum float64) func(string) error {
	return func(value string) error {
		number, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return err
		}
		if number < minimum || number > maximum {
			return fmt.Errorf("must be between %v and %v", minimum, maximum)
		}
		return nil
	}
}

// oneOf returns a case-sensitive validator that accepts only the given values.
func oneOf(allowed ...string) func(string) error {
	return func(value string) error {
		for _, candidate := range allowed {
			if value == candidate {
				return nil
			}
		}
		return fmt.Errorf("must be one of %s", strings.Join(allowed, ", "))
	}
}

// listOf returns a validator for a non-empty list whose items are all allowed.
func listOf(allowed ...string) func(string) error {
	single := oneOf(allowed...)
	return func(value string) error {
		items := splitList(value)
		if len(items) == 0 {
			return errors.New("must not be empty")
		}
		for _, item := range items {
			if err := single(item); err != nil {
				return err
			}
		}
		return nil
	}
}

// lowerOneOf is oneOf after lower-casing the value (Kafka's case-insensitive enums).
func lowerOneOf(allowed ...string) func(string) error {
	validator := oneOf(allowed...)
	return func(value string) error { return validator(strings.ToLower(value)) }
}

const longMax = "9223372036854775807"
const intMax = "2147483647"
