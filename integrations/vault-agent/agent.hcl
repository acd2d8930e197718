# Vault Agent for a long-running app that needs cloud credentials (not a
# CI job: use cloudcreds there). The agent logs in with AppRole, renders
# an AWS key and a Nomad token into ./creds.env, keeps their leases renewed
# up to their max TTL, and renders new ones when a lease ends or is
# revoked. The app re-reads creds.env when it changes (or set `command` in
# the template stanza to tell it).
#
# Run it from the directory holding this file, with VAULT_ADDR (and the
# VAULT_CACERT etc. your Vault needs) in the environment:
#
#   vault agent -config=agent.hcl
#
# e2e/companion_agent_test.go runs exactly this file against a real Vault.

pid_file = "./agent.pid"

auto_auth {
  method "approle" {
    mount_path = "auth/approle"
    config = {
      role_id_file_path                   = "./role-id"
      secret_id_file_path                 = "./secret-id"
      remove_secret_id_file_after_reading = false
    }
  }
}

template_config {
  # Exit (and let the supervisor restart the agent) rather than keep
  # serving a file whose credentials Vault no longer renews.
  exit_on_retry_failure = true
}

template {
  source               = "./creds.env.ctmpl"
  destination          = "./creds.env"
  perms                = "0600"
  error_on_missing_key = true
  # command = "systemctl reload my-app"
}
