# Runs after the files are in place and accounts exist, before the service
# is started. PKGF_ACTION is install or upgrade on rpm and deb alike.
if [ "$PKGF_ACTION" = install ]; then
	echo "hello-service: edit /etc/hello-service/hello.conf, then: systemctl restart hello-service"
fi
