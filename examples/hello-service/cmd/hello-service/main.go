// hello-service is the example product packaged by pkgfactory: a tiny HTTP
// service with a config file, run as a system user under systemd.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"strings"
)

var version = "dev"

func readConfig(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cfg := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if ok {
			cfg[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return cfg, sc.Err()
}

func main() {
	config := flag.String("config", "/etc/hello-service/hello.conf", "config file")
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Println("hello-service", version)
		return
	}
	cfg, err := readConfig(*config)
	if err != nil {
		log.Fatalf("config: %v", err)
	}
	listen := cfg["listen"]
	if listen == "" {
		listen = "127.0.0.1:8080"
	}
	greeting := cfg["greeting"]
	if greeting == "" {
		greeting = "hello"
	}
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, greeting)
	})
	log.Printf("hello-service %s listening on %s", version, listen)
	log.Fatal(http.ListenAndServe(listen, nil))
}
