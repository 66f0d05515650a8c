# Every certificate every instance serves; the plan warns when one expires
# within 14 days.
data "haproxy_ssl_certificates" "all" {}

check "certificates_not_expiring" {
  assert {
    condition = alltrue([
      for c in data.haproxy_ssl_certificates.all.certificates :
      timecmp(c.not_after, timeadd(plantimestamp(), "336h")) > 0
    ])
    error_message = "A certificate expires within 14 days: ${join(", ", [
      for c in data.haproxy_ssl_certificates.all.certificates : "${c.file} on ${c.socket} (${c.not_after})"
      if timecmp(c.not_after, timeadd(plantimestamp(), "336h")) <= 0
    ])}"
  }
}
