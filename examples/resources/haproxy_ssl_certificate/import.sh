# The store's file name, as HAProxy names it (`show ssl cert`).
terraform import haproxy_ssl_certificate.site /etc/haproxy/certs/site.pem
