package main

import (
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"

	"github.com/alecthomas/kong"
)

// logLevels are the values of --log-level.
var logLevels = []string{"debug", "info", "warn", "error"}

// logLevelMapper reads a slog.Level from a flag or env value, refusing
// what is not one of logLevels with an error that lists them.
var logLevelMapper = kong.MapperFunc(func(ctx *kong.DecodeContext, target reflect.Value) error {
	var s string
	if err := ctx.Scan.PopValueInto("level", &s); err != nil {
		return err
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return fmt.Errorf("%q is not a log level: want %s", s, orList(logLevels))
	}
	target.Set(reflect.ValueOf(l))
	return nil
})

// explainParseError turns an error of the command line's parser into one
// line that says what is wrong, names the flag with its environment twin,
// and points at --help, instead of the whole usage.
func explainParseError(err error) string {
	msg := err.Error()
	var pe *kong.ParseError
	if !errors.As(err, &pe) || pe.Context == nil {
		return msg
	}
	for _, f := range pe.Context.Flags() {
		name := "--" + f.Name
		rest, ok := strings.CutPrefix(msg, name)
		if !ok || rest != "" && rest[0] != ':' && rest[0] != ' ' {
			continue
		}
		if len(f.Envs) > 0 {
			msg = name + " (" + strings.Join(f.Envs, ", ") + ")" + rest
		}
		break
	}
	return msg + "; " + helpCommand(pe.Context) + " lists every flag"
}

// helpCommand is the --help command line of the command being parsed.
func helpCommand(kctx *kong.Context) string {
	words := []string{kctx.Model.Name}
	for _, tr := range kctx.Path {
		if tr.Command != nil {
			words = append(words, tr.Command.Name)
		}
	}
	return "'" + strings.Join(append(words, "--help"), " ") + "'"
}

// orList joins words as "a, b, c or d".
func orList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}
