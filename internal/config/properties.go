package config

import (
	"fmt"
	"strconv"
	"strings"
)

// maxPropertiesSize bounds the size of a properties file accepted by Load.
const maxPropertiesSize = 16 << 20

// Property is one key/value pair parsed from a Java properties document,
// with the 1-based line number where its logical line started.
type Property struct {
	Key   string
	Value string
	Line  int
}

// ParseProperties parses a Java properties document: comment lines start
// with '#' or '!', keys end at the first unescaped '=', ':' or whitespace,
// a line ending in an odd number of backslashes continues on the next line
// (whose leading whitespace is dropped), and \t \n \r \f \uXXXX escapes are
// decoded. A malformed \u escape is an error wrapping ErrInvalidConfig.
func ParseProperties(text string) ([]Property, error) {
	var properties []Property
	lines := strings.Split(strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\r", "\n"), "\n")
	for index := 0; index < len(lines); index++ {
		start := index + 1
		line := trimLeadingSpace(lines[index])
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		for endsWithContinuation(line) && index+1 < len(lines) {
			index++
			line = line[:len(line)-1] + trimLeadingSpace(lines[index])
		}
		if endsWithContinuation(line) {
			line = line[:len(line)-1]
		}
		key, value, err := splitLogicalLine(line)
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %v", ErrInvalidConfig, start, err)
		}
		properties = append(properties, Property{Key: key, Value: value, Line: start})
	}
	return properties, nil
}

func trimLeadingSpace(line string) string {
	return strings.TrimLeft(line, " \t\f")
}

// endsWithContinuation reports whether line ends in an odd number of backslashes.
func endsWithContinuation(line string) bool {
	count := 0
	for index := len(line) - 1; index >= 0 && line[index] == '\\'; index-- {
		count++
	}
	return count%2 == 1
}

// splitLogicalLine separates the key from the value and decodes escapes in both.
func splitLogicalLine(line string) (string, string, error) {
	keyEnd := len(line)
	for index := 0; index < len(line); index++ {
		character := line[index]
		if character == '\\' {
			index++
			continue
		}
		if character == '=' || character == ':' || character == ' ' || character == '\t' || character == '\f' {
			keyEnd = index
			break
		}
	}
	rest := trimLeadingSpace(line[keyEnd:])
	if rest != "" && (rest[0] == '=' || rest[0] == ':') {
		rest = trimLeadingSpace(rest[1:])
	}
	key, err := unescape(line[:keyEnd])
	if err != nil {
		return "", "", err
	}
	value, err := unescape(rest)
	if err != nil {
		return "", "", err
	}
	return key, value, nil
}

func unescape(text string) (string, error) {
	if !strings.Contains(text, "\\") {
		return text, nil
	}
	var builder strings.Builder
	for index := 0; index < len(text); index++ {
		character := text[index]
		if character != '\\' || index+1 >= len(text) {
			builder.WriteByte(character)
			continue
		}
		index++
		switch text[index] {
		case 't':
			builder.WriteByte('\t')
		case 'n':
			builder.WriteByte('\n')
		case 'r':
			builder.WriteByte('\r')
		case 'f':
			builder.WriteByte('\f')
		case 'u':
			if index+5 > len(text) {
				return "", fmt.Errorf("malformed \\uxxxx escape")
			}
			code, err := strconv.ParseUint(text[index+1:index+5], 16, 16)
			if err != nil {
				return "", fmt.Errorf("malformed \\uxxxx escape %q", text[index-1:index+5])
			}
			builder.WriteRune(rune(code))
			index += 4
		default:
			builder.WriteByte(text[index])
		}
	}
	return builder.String(), nil
}
