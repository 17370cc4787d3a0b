package config

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/providers/posflag"
	"github.com/knadh/koanf/providers/structs"
	"github.com/knadh/koanf/v2"
	"github.com/spf13/pflag"
)

// Load reads the configuration: defaults, the YAML file at path (if not
// empty), the environment (environ, os.Environ when nil), then the flags
// of fs that were set, later sources winning. A flag takes part when its
// name is a key with "_" spelled "-" (--addr, --issuer, --dev). Unknown
// keys and values of the wrong type are errors naming the setting; Load
// does not check the values themselves: call Validate.
func Load(path string, environ []string, fs *pflag.FlagSet) (Config, error) {
	k := koanf.New(".")
	if err := k.Load(structs.Provider(Default(), "koanf"), nil); err != nil {
		return Config{}, err
	}
	if path != "" {
		if err := loadFile(k, path); err != nil {
			return Config{}, fmt.Errorf("config file %s: %w", path, err)
		}
	}
	if environ == nil {
		environ = os.Environ()
	}
	if err := loadEnv(k, environ); err != nil {
		return Config{}, err
	}
	if fs != nil {
		if err := loadFlags(k, fs); err != nil {
			return Config{}, err
		}
	}
	var c Config
	if err := k.UnmarshalWithConf("", &c, koanf.UnmarshalConf{Tag: "koanf"}); err != nil {
		// Unreachable once every value passed checkValue; kept to one line.
		msg, _, _ := strings.Cut(err.Error(), "\n")
		return Config{}, fmt.Errorf("configuration: %s", msg)
	}
	return c, nil
}

// loadFile merges the YAML file at path into k.
func loadFile(k *koanf.Koanf, path string) error {
	f := koanf.New(".")
	if err := f.Load(file.Provider(path), yaml.Parser()); err != nil {
		return err
	}
	keys := f.Keys()
	slices.Sort(keys)
	for _, key := range keys {
		t, known := keyTypes[key]
		switch {
		case !known && isSection(key) && f.Get(key) == nil:
			continue // an empty section, "token:" with nothing below
		case !known && isSection(key):
			return &Error{Key: key, Reason: "is a section: give its settings below it, such as " + firstKeyIn(key)}
		case !known:
			return unknown(fmt.Sprintf("unknown setting %q", key), key, KeyNames())
		}
		if err := checkValue(t, f.Get(key)); err != nil {
			return &Error{Key: key, Reason: err.Error()}
		}
	}
	return k.Merge(f)
}

// loadEnv merges the GATEHOUSE_* variables of environ into k. Keys contain
// "_" themselves, so names are looked up in the table of known keys rather
// than split on "_".
func loadEnv(k *koanf.Koanf, environ []string) error {
	byEnv := make(map[string]string, len(keyTypes))
	for key := range keyTypes {
		byEnv[EnvName(key)] = key
	}
	var errs []error
	err := k.Load(env.Provider(".", env.Opt{
		Prefix:      EnvPrefix,
		EnvironFunc: func() []string { return environ },
		TransformFunc: func(name, value string) (string, any) {
			key, ok := byEnv[name]
			switch {
			case !ok && reserved(name):
				return "", nil
			case !ok:
				errs = append(errs, unknown("unknown environment variable "+name+": no such setting", name, slices.Collect(maps.Keys(byEnv))))
				return "", nil
			}
			if err := checkValue(keyTypes[key], value); err != nil {
				errs = append(errs, &Error{Key: key, Reason: err.Error()})
				return "", nil
			}
			return key, value
		},
	}), nil)
	if err != nil {
		return err
	}
	if len(errs) > 0 {
		// Report one, the same one on every run.
		slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
		return errs[0]
	}
	return nil
}

// loadFlags merges the flags of fs that were set and name a key.
func loadFlags(k *koanf.Koanf, fs *pflag.FlagSet) error {
	return k.Load(posflag.ProviderWithFlag(fs, ".", k, func(f *pflag.Flag) (string, any) {
		key := strings.ReplaceAll(f.Name, "-", "_")
		if _, known := keyTypes[key]; !known || !f.Changed {
			return "", nil
		}
		return key, posflag.FlagVal(fs, f)
	}), nil)
}

func reserved(name string) bool {
	for _, p := range reservedEnvPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// KeyNames returns every configuration key, sorted.
func KeyNames() []string {
	keys := slices.Collect(maps.Keys(keyTypes))
	slices.Sort(keys)
	return keys
}

// keyTypes maps every key to the Go type of its field.
var keyTypes = func() map[string]reflect.Type {
	m := map[string]reflect.Type{}
	var walk func(prefix string, t reflect.Type)
	walk = func(prefix string, t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			key := prefix + f.Tag.Get("koanf")
			if f.Type.Kind() == reflect.Struct {
				walk(key+".", f.Type)
				continue
			}
			m[key] = f.Type
		}
	}
	walk("", reflect.TypeFor[Config]())
	return m
}()

func isSection(key string) bool {
	for k := range keyTypes {
		if strings.HasPrefix(k, key+".") {
			return true
		}
	}
	return false
}

func firstKeyIn(section string) string {
	for _, k := range KeyNames() {
		if strings.HasPrefix(k, section+".") {
			return k
		}
	}
	return section
}

var durationType = reflect.TypeFor[time.Duration]()

// checkValue reports a value that does not fit the type of its setting, as
// it comes from YAML (typed) or the environment (a string). A bare number
// is no duration: "300" could mean seconds or nanoseconds, so only 0 is
// taken.
func checkValue(t reflect.Type, v any) error {
	if v == nil {
		return errors.New("has no value (remove it to keep the default)")
	}
	s, isString := v.(string)
	s = strings.TrimSpace(s)
	switch {
	case t == durationType:
		if isString {
			if _, err := time.ParseDuration(s); err == nil {
				return nil
			}
		} else if isZero(v) {
			return nil
		}
		return errors.New("must be a duration such as 90s, 15m or 720h")
	case t.Kind() == reflect.Bool:
		if _, ok := v.(bool); ok {
			return nil
		}
		if _, err := strconv.ParseBool(s); isString && err == nil {
			return nil
		}
		return errors.New("must be true or false")
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		return checkInt(v, s, isString, t.Bits(), false)
	case t.Kind() >= reflect.Uint && t.Kind() <= reflect.Uint64:
		return checkInt(v, s, isString, t.Bits(), true)
	case t.Kind() == reflect.Float64:
		switch v.(type) {
		case float64, int, int64, uint64:
			return nil
		}
		if _, err := strconv.ParseFloat(s, 64); isString && err == nil {
			return nil
		}
		return errors.New("must be a number such as 0.25")
	case t.Kind() == reflect.String:
		if isString {
			return nil
		}
		return errors.New("must be a string (quote it)")
	}
	return fmt.Errorf("has an unsupported type %s", t)
}

func checkInt(v any, s string, isString bool, bits int, unsigned bool) error {
	if !isString {
		s = fmt.Sprint(v)
		switch v.(type) {
		case int, int64, uint64:
		default:
			return errors.New("must be a whole number")
		}
	}
	var err error
	if unsigned {
		_, err = strconv.ParseUint(s, 10, bits)
	} else {
		_, err = strconv.ParseInt(s, 10, bits)
	}
	switch {
	case errors.Is(err, strconv.ErrRange) && unsigned:
		return fmt.Errorf("must be a whole number from 0 to %d", uint64(1)<<bits-1)
	case err != nil && unsigned:
		return errors.New("must be a whole number, not negative")
	case errors.Is(err, strconv.ErrRange):
		return errors.New("is too large")
	case err != nil:
		return errors.New("must be a whole number")
	}
	return nil
}

func isZero(v any) bool {
	switch x := v.(type) {
	case int:
		return x == 0
	case int64:
		return x == 0
	case uint64:
		return x == 0
	case time.Duration:
		return true // a default, already a duration
	}
	return false
}

// replaced says what took the place of settings that are gone, so that a
// configuration written for an earlier version fails with directions.
var replaced = map[string]string{
	"password.min_iterations":      "password.iterations (now the exact count)",
	"password.attempts_per_minute": "the password.throttle settings",
}

// unknown builds the error for an unknown name, suggesting the closest
// known one when it is likely a typo.
func unknown(msg, name string, known []string) error {
	for old, now := range replaced {
		if name == old || name == EnvName(old) {
			return errors.New(msg + " (replaced by " + now + "); see docs/configuration.md")
		}
	}
	if s := closest(name, known); s != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", s)
	}
	return errors.New(msg + "; see docs/configuration.md")
}

// closest returns the candidate within edit distance 2 of name, if any.
func closest(name string, candidates []string) string {
	best, bestD := "", 3
	slices.Sort(candidates)
	for _, c := range candidates {
		if d := editDistance(name, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
