package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	nomadapi "github.com/hashicorp/nomad/api"
)

// The companion tests run this test binary as the job's command. These
// variables, set in the companion's environment and so passed through to
// its command, switch it into child mode.
const (
	// childReportEnv is the file the child appends one JSON line to per
	// check (see childReport).
	childReportEnv = "CLOUDCREDS_E2E_CHILD_REPORT"
	// childModeEnv says what the child does after the first check:
	// "exit:<n>", "wait" (sleep until a signal kills it), "ignore-term"
	// (ignore SIGTERM, sleep), "recheck:<duration>" (sleep, check again,
	// exit 0 if both checks passed).
	childModeEnv = "CLOUDCREDS_E2E_CHILD_MODE"
)

// TestCompanionChild is not a test: it is the job the companion runs. It
// uses the credentials the way a job's tools do, from the environment
// alone: the AWS SDK's default configuration (AWS_ACCESS_KEY_ID, …,
// AWS_ENDPOINT_URL_STS) calls STS GetCallerIdentity, whose SigV4
// signature the emulator recomputes; the Nomad api's default
// configuration (NOMAD_ADDR, NOMAD_TOKEN) reads /v1/acl/token/self.
func TestCompanionChild(t *testing.T) {
	report := os.Getenv(childReportEnv)
	if report == "" {
		t.Skip("the job the companion tests run; runs only under cloudcreds")
	}
	os.Exit(childMain(report, os.Getenv(childModeEnv)))
}

func childMain(report, mode string) int {
	if mode == "ignore-term" {
		signal.Ignore(syscall.SIGTERM)
	}
	ok := childCheck(report, 1)
	verb, arg, _ := strings.Cut(mode, ":")
	switch verb {
	case "exit":
		n, _ := strconv.Atoi(arg)
		return n
	case "wait", "ignore-term":
		time.Sleep(3 * time.Minute)
		return 99
	case "recheck":
		d, _ := time.ParseDuration(arg)
		time.Sleep(d)
		if ok2 := childCheck(report, 2); ok && ok2 {
			return 0
		}
		return 1
	}
	if ok {
		return 0
	}
	return 1
}

// childCheck uses every credential in the environment and appends what it
// saw to the report.
func childCheck(report string, phase int) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep := childReport{Phase: phase, PID: os.Getpid(), Env: map[string]string{}}
	if b, err := os.ReadFile("/proc/self/cmdline"); err == nil {
		rep.Argv = strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
	}
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "NOMAD_TOKEN", "NOMAD_ADDR",
		"NCLOUD_ACCESS_KEY", "NCLOUD_SECRET_KEY"} {
		if v, ok := os.LookupEnv(k); ok {
			rep.Env[k] = v
		}
	}
	for _, k := range []string{"CLOUDCREDS_APPROLE_SECRET_ID", "CLOUDCREDS_VAULT_TOKEN"} {
		if _, ok := os.LookupEnv(k); ok {
			rep.Leaked = append(rep.Leaked, k)
		}
	}
	ok := true
	if rep.Env["AWS_ACCESS_KEY_ID"] != "" {
		rep.AWSARN, rep.AWSErr = childAWS(ctx)
		ok = ok && rep.AWSErr == ""
	}
	if rep.Env["NOMAD_TOKEN"] != "" {
		rep.NomadAccessor, rep.NomadErr = childNomad()
		ok = ok && rep.NomadErr == ""
	}
	line, _ := json.Marshal(rep)
	f, err := os.OpenFile(report, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child: report:", err)
		return false
	}
	defer f.Close()
	_, _ = f.Write(append(line, '\n'))
	return ok
}

func childAWS(ctx context.Context) (string, string) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return "", "load config: " + err.Error()
	}
	out, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", errorWithout(err, os.Getenv("AWS_SECRET_ACCESS_KEY"))
	}
	return aws.ToString(out.Arn), ""
}

func childNomad() (string, string) {
	c, err := nomadapi.NewClient(nomadapi.DefaultConfig())
	if err != nil {
		return "", err.Error()
	}
	self, _, err := c.ACLTokens().Self(nil)
	if err != nil {
		return "", errorWithout(err, os.Getenv("NOMAD_TOKEN"))
	}
	return self.AccessorID, ""
}

func errorWithout(err error, secret string) string {
	if secret == "" {
		return err.Error()
	}
	return string(bytes.ReplaceAll([]byte(err.Error()), []byte(secret), []byte("<redacted>")))
}
