package main

import (
	"errors"
	"log/slog"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
)

// browserCommands returns the commands that may open url in a browser, in
// the order to try them: those of browserEnv, the BROWSER variable (a
// list split by ':', each a command whose %s stands for the URL, or which
// gets the URL as its last argument, as sensible-browser and Python's
// webbrowser read it), then the system's opener, open on macOS and
// xdg-open elsewhere.
func browserCommands(url, browserEnv, goos string) [][]string {
	var out [][]string
	for _, c := range strings.Split(browserEnv, ":") {
		words := strings.Fields(c)
		if len(words) == 0 {
			continue
		}
		subst := false
		for i, w := range words {
			if strings.Contains(w, "%s") {
				words[i] = strings.ReplaceAll(w, "%s", url)
				subst = true
			}
		}
		if !subst {
			words = append(words, url)
		}
		out = append(out, words)
	}
	opener := "xdg-open"
	if goos == "darwin" {
		opener = "open"
	}
	return append(out, []string{opener, url})
}

// openBrowser opens url with the first of browserCommands that starts,
// and logs which, or that none did and the user should open the URL.
// It never fails watch: the URL is on stdout all the same. The browser
// runs in a process group of its own, so that the Ctrl-C that stops
// watch does not close it.
func openBrowser(url, browserEnv string, log *slog.Logger) {
	var errs []error
	for _, args := range browserCommands(url, browserEnv, runtime.GOOS) {
		cmd := exec.Command(args[0], args[1:]...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			errs = append(errs, err)
			continue
		}
		log.Info("opening the watch page", "with", args[0])
		// An opener such as xdg-open hands the URL to the browser and
		// exits; a status other than 0 means no browser took it.
		go func() {
			if err := cmd.Wait(); err != nil {
				log.Warn("the browser command failed; open the watch URL yourself", "with", args[0], "url", url, "err", err)
			}
		}()
		return
	}
	log.Warn("no browser could be opened; open the watch URL yourself, or set BROWSER", "url", url, "err", errors.Join(errs...))
}
