package config

import (
	"sort"
	"strconv"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// brokerSynonyms lists, for broker configs with synonyms, every broker key
// that can set the value, highest precedence first (the key itself first).
var brokerSynonyms = map[string][]string{
	"log.retention.ms":      {"log.retention.ms", "log.retention.minutes", "log.retention.hours"},
	"log.retention.minutes": {"log.retention.minutes", "log.retention.hours"},
	"log.roll.ms":           {"log.roll.ms", "log.roll.hours"},
	"log.roll.jitter.ms":    {"log.roll.jitter.ms", "log.roll.jitter.hours"},
	"log.flush.interval.ms": {"log.flush.interval.ms", "log.flush.scheduler.interval.ms"},
	"log.dirs":              {"log.dirs", "log.dir"},
	"node.id":               {"node.id", "broker.id"},
}

// Describe reports every broker config for DescribeConfigs, sorted by name.
func (b *Broker) Describe() []Entry {
	entries := make([]Entry, 0, len(brokerDefinitions))
	for index := range brokerDefinitions {
		definition := &brokerDefinitions[index]
		value, source, ok := b.lookup(definition.Name)
		entry := Entry{
			Name:      definition.Name,
			Source:    source,
			IsDefault: source == kmsg.ConfigSourceDefaultConfig,
			ReadOnly:  !definition.Dynamic,
			Sensitive: definition.Sensitive,
			Type:      definition.Type,
			Doc:       definition.Doc,
		}
		if ok && !definition.Sensitive {
			entry.Value = stringPointer(value)
		}
		entry.Synonyms = b.synonyms(definition.Name, brokerSynonymsOf(definition.Name))
		entries = append(entries, entry)
	}
	sort.Slice(entries, func(left, right int) bool { return entries[left].Name < entries[right].Name })
	return entries
}

func brokerSynonymsOf(name string) []string {
	if names, ok := brokerSynonyms[name]; ok {
		return names
	}
	return []string{name}
}

// synonyms lists, for the broker keys in precedence order, every layer that
// sets each one (highest layer first), then the default of the last key
// that has one — Kafka's include_synonyms output.
func (b *Broker) synonyms(name string, keys []string) []Synonym {
	var synonyms []Synonym
	for _, key := range keys {
		sensitive := brokerIndex[key].Sensitive
		for index := len(b.layers) - 1; index >= 0; index-- {
			if value, ok := b.layers[index].values[key]; ok {
				synonym := Synonym{Name: key, Source: b.layers[index].source}
				if !sensitive {
					synonym.Value = stringPointer(value)
				}
				synonyms = append(synonyms, synonym)
			}
		}
	}
	for index := len(keys) - 1; index >= 0; index-- {
		if definition := brokerIndex[keys[index]]; !definition.NoDefault {
			synonyms = append(synonyms, Synonym{Name: definition.Name, Value: stringPointer(definition.Default), Source: kmsg.ConfigSourceDefaultConfig})
			break
		}
	}
	return synonyms
}

func stringPointer(value string) *string {
	return &value
}

func formatInt(value int64) string {
	return strconv.FormatInt(value, 10)
}
