# The certificate a `bind :443 ssl crt /etc/haproxy/certs/site.pem` serves,
# replaced on every instance at once, with no reload. The key is write-only:
# it is sent to HAProxy and never stored in the plan or the state.
variable "site_certificate_pem" {
  description = "The leaf certificate, then each issuer (for example an ACME certificate and its issuer)."
  type        = string
}

variable "site_private_key_pem" {
  type      = string
  sensitive = true
}

resource "haproxy_ssl_certificate" "site" {
  file                   = "/etc/haproxy/certs/site.pem"
  certificate            = var.site_certificate_pem
  private_key_wo         = var.site_private_key_pem
  private_key_wo_version = 1 # change it to send a new key
}
