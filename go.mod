module github.com/haproxy-runtime/terraform-provider-haproxy

go 1.25
