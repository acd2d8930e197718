package emulator

// Endpoints is the one JSON line cmd/cloud-emulator prints: where each
// emulated cloud listens and its root credentials (random per run, test
// fixtures of the emulators, not secrets of any real cloud).
type Endpoints struct {
	AWS    AWSEndpoints    `json:"aws"`
	Ncloud NcloudEndpoints `json:"ncloud"`
	Nomad  NomadEndpoints  `json:"nomad"`
}

// AWSEndpoints is the aws part of Endpoints.
type AWSEndpoints struct {
	IAMEndpoint string `json:"iam_endpoint"`
	STSEndpoint string `json:"sts_endpoint"`
	Region      string `json:"region"`
	AccessKey   string `json:"access_key"`
	SecretKey   string `json:"secret_key"`
	Admin       string `json:"admin"`
}

// NcloudEndpoints is the ncloud part of Endpoints.
type NcloudEndpoints struct {
	STSEndpoint        string `json:"sts_endpoint"`
	SubAccountEndpoint string `json:"subaccount_endpoint"`
	AccessKey          string `json:"access_key"`
	SecretKey          string `json:"secret_key"`
	Admin              string `json:"admin"`
}

// NomadEndpoints is the nomad part of Endpoints.
type NomadEndpoints struct {
	Address string `json:"address"`
	Token   string `json:"token"`
	Admin   string `json:"admin"`
}
