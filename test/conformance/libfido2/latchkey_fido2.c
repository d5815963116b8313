/*
 * libfido2 (C API) against Latchkey's CTAPHID socket. libfido2 does all of the CTAPHID framing;
 * the io functions below only carry 64-byte reports over a stream socket (TCP or UNIX), dropping
 * the report-ID byte libfido2 puts in front of each report it writes.
 *
 * Usage: latchkey_fido2 tcp HOST PORT | unix PATH
 * Prints one JSON object: getInfo fields and one entry per step with libfido2's result code.
 * Exit status 0 when the program ran to the end (the test judges the results), 2 on bad usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fido.h>
#include <fido/es256.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define REPORT 64

static const char *g_mode;
static const char *g_host;
static const char *g_port;

/* ---- io functions ------------------------------------------------------------------------- */

struct conn {
	int fd;
};

static void *
io_open(const char *path)
{
	struct conn *c;
	int fd = -1;

	(void)path;
	if (strcmp(g_mode, "unix") == 0) {
		struct sockaddr_un sun;
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		if (strlen(g_host) >= sizeof(sun.sun_path))
			return NULL;
		strcpy(sun.sun_path, g_host);
		if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0)
			return NULL;
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
			close(fd);
			return NULL;
		}
	} else {
		struct addrinfo hints, *res = NULL;
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = SOCK_STREAM;
		if (getaddrinfo(g_host, g_port, &hints, &res) != 0)
			return NULL;
		if ((fd = socket(res->ai_family, res->ai_socktype, res->ai_protocol)) < 0 ||
		    connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
			if (fd >= 0)
				close(fd);
			freeaddrinfo(res);
			return NULL;
		}
		freeaddrinfo(res);
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return NULL;
	}
	c->fd = fd;
	return c;
}

static void
io_close(void *handle)
{
	struct conn *c = handle;
	close(c->fd);
	free(c);
}

/* One report: exactly 64 bytes, waiting at most ms milliseconds (-1: forever) for the first byte. */
static int
io_read(void *handle, unsigned char *buf, size_t len, int ms)
{
	struct conn *c = handle;
	size_t got = 0;

	if (len != REPORT)
		return -1;
	while (got < len) {
		struct pollfd pfd = { c->fd, POLLIN, 0 };
		int r = poll(&pfd, 1, got == 0 ? ms : 5000);
		if (r <= 0)
			return -1;
		ssize_t n = read(c->fd, buf + got, len - got);
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return (int)got;
}

/* libfido2 hands over report ID + 64 bytes; the socket carries the 64 bytes. */
static int
io_write(void *handle, const unsigned char *buf, size_t len)
{
	struct conn *c = handle;
	size_t put = 0;

	if (len != REPORT + 1)
		return -1;
	while (put < REPORT) {
		ssize_t n = write(c->fd, buf + 1 + put, REPORT - put);
		if (n <= 0)
			return -1;
		put += (size_t)n;
	}
	return (int)len;
}

/* ---- output ------------------------------------------------------------------------------- */

static int g_first = 1;

static void
key(const char *k)
{
	printf("%s\"%s\":", g_first ? "" : ",", k);
	g_first = 0;
}

static void
hex(const unsigned char *p, size_t n)
{
	putchar('"');
	for (size_t i = 0; p != NULL && i < n; i++)
		printf("%02x", p[i]);
	putchar('"');
}

static void
str(const char *s)
{
	putchar('"');
	for (; s != NULL && *s; s++) {
		if (*s == '"' || *s == '\\')
			putchar('\\');
		putchar(*s);
	}
	putchar('"');
}

static void
strings(const char *k, char **v, size_t n)
{
	key(k);
	putchar('[');
	for (size_t i = 0; i < n; i++) {
		if (i)
			putchar(',');
		str(v[i]);
	}
	putchar(']');
}

static void
step(const char *name, int r)
{
	key(name);
	printf("{\"r\":%d,\"err\":", r);
	str(fido_strerr(r));
	putchar('}');
}

/* ---- ceremonies --------------------------------------------------------------------------- */

static const unsigned char CDH[32] = { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb,
	0xcc, 0xdd, 0xee, 0xff, 0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80, 0x90, 0xa0, 0xb0, 0xc0,
	0xd0, 0xe0, 0xf0, 0x01 };

static fido_cred_t *
make_cred(fido_dev_t *dev, const char *rp, const unsigned char *uid, size_t uid_len, fido_opt_t rk, int ext,
    int *r)
{
	fido_cred_t *cred = fido_cred_new();
	if (cred == NULL) {
		*r = FIDO_ERR_INTERNAL;
		return NULL;
	}
	if ((*r = fido_cred_set_type(cred, COSE_ES256)) != FIDO_OK ||
	    (*r = fido_cred_set_clientdata_hash(cred, CDH, sizeof(CDH))) != FIDO_OK ||
	    (*r = fido_cred_set_rp(cred, rp, "Latchkey conformance")) != FIDO_OK ||
	    (*r = fido_cred_set_user(cred, uid, uid_len, "alice", "Alice", NULL)) != FIDO_OK ||
	    (*r = fido_cred_set_rk(cred, rk)) != FIDO_OK ||
	    (ext && (*r = fido_cred_set_extensions(cred, ext)) != FIDO_OK) ||
	    (*r = fido_dev_make_cred(dev, cred, NULL)) != FIDO_OK) {
		return cred;
	}
	return cred;
}

/* getAssertion with hmac-secret over `salt` (32 or 64 bytes); verifies the signature with `pk`. */
static int
assert_hmac(fido_dev_t *dev, const char *rp, const fido_cred_t *cred, const es256_pk_t *pk,
    const unsigned char *salt, size_t salt_len, fido_opt_t uv, const char *label)
{
	fido_assert_t *a = fido_assert_new();
	int r;

	if ((r = fido_assert_set_clientdata_hash(a, CDH, sizeof(CDH))) != FIDO_OK ||
	    (r = fido_assert_set_rp(a, rp)) != FIDO_OK ||
	    (r = fido_assert_allow_cred(a, fido_cred_id_ptr(cred), fido_cred_id_len(cred))) != FIDO_OK ||
	    (r = fido_assert_set_extensions(a, FIDO_EXT_HMAC_SECRET)) != FIDO_OK ||
	    (r = fido_assert_set_hmac_salt(a, salt, salt_len)) != FIDO_OK ||
	    (r = fido_assert_set_up(a, FIDO_OPT_TRUE)) != FIDO_OK ||
	    (r = fido_assert_set_uv(a, uv)) != FIDO_OK ||
	    (r = fido_dev_get_assert(dev, a, NULL)) != FIDO_OK) {
		step(label, r);
		fido_assert_free(&a);
		return r;
	}
	r = fido_assert_verify(a, 0, COSE_ES256, pk);
	key(label);
	printf("{\"r\":%d,\"err\":", r);
	str(fido_strerr(r));
	printf(",\"flags\":%u,\"hmac\":", fido_assert_flags(a, 0));
	hex(fido_assert_hmac_secret_ptr(a, 0), fido_assert_hmac_secret_len(a, 0));
	putchar('}');
	fido_assert_free(&a);
	return r;
}

int
main(int argc, char **argv)
{
	fido_dev_io_t io = { io_open, io_close, io_read, io_write };
	fido_dev_t *dev = NULL;
	fido_cbor_info_t *ci = NULL;
	fido_cred_t *cred = NULL;
	es256_pk_t *pk = NULL;
	unsigned char salt[64];
	int r;

	if (argc == 4 && strcmp(argv[1], "tcp") == 0) {
		g_mode = "tcp";
		g_host = argv[2];
		g_port = argv[3];
	} else if (argc == 3 && strcmp(argv[1], "unix") == 0) {
		g_mode = "unix";
		g_host = argv[2];
	} else {
		fprintf(stderr, "usage: %s tcp HOST PORT | unix PATH\n", argv[0]);
		return 2;
	}
	for (size_t i = 0; i < sizeof(salt); i++)
		salt[i] = (unsigned char)(i * 7 + 3);

	fido_init(getenv("FIDO_DEBUG") != NULL ? FIDO_DEBUG : 0);
	putchar('{');
	dev = fido_dev_new();
	if ((r = fido_dev_set_io_functions(dev, &io)) != FIDO_OK || (r = fido_dev_open(dev, "latchkey")) != FIDO_OK) {
		step("open", r);
		goto out;
	}
	step("open", FIDO_OK);
	key("isFido2");
	printf("%s", fido_dev_is_fido2(dev) ? "true" : "false");

	/* getInfo */
	ci = fido_cbor_info_new();
	r = fido_dev_get_cbor_info(dev, ci);
	step("getInfo", r);
	if (r == FIDO_OK) {
		strings("versions", fido_cbor_info_versions_ptr(ci), fido_cbor_info_versions_len(ci));
		strings("extensions", fido_cbor_info_extensions_ptr(ci), fido_cbor_info_extensions_len(ci));
		key("aaguid");
		hex(fido_cbor_info_aaguid_ptr(ci), fido_cbor_info_aaguid_len(ci));
		char **on = fido_cbor_info_options_name_ptr(ci);
		const bool *ov = fido_cbor_info_options_value_ptr(ci);
		key("options");
		putchar('{');
		for (size_t i = 0; i < fido_cbor_info_options_len(ci); i++) {
			if (i)
				putchar(',');
			str(on[i]);
			printf(":%s", ov[i] ? "true" : "false");
		}
		putchar('}');
		const uint8_t *p = fido_cbor_info_protocols_ptr(ci);
		key("pinProtocols");
		putchar('[');
		for (size_t i = 0; i < fido_cbor_info_protocols_len(ci); i++)
			printf("%s%u", i ? "," : "", p[i]);
		putchar(']');
		key("maxMsgSize");
		printf("%llu", (unsigned long long)fido_cbor_info_maxmsgsiz(ci));
		key("hasPin");
		printf("%s", fido_dev_has_pin(dev) ? "true" : "false");
		key("hasUv");
		printf("%s", fido_dev_has_uv(dev) ? "true" : "false");
	}

	/* makeCredential with hmac-secret, verified */
	cred = make_cred(dev, "example.com", (const unsigned char *)"user-1", 6, FIDO_OPT_FALSE, FIDO_EXT_HMAC_SECRET, &r);
	step("makeCredential", r);
	if (r != FIDO_OK)
		goto out;
	key("fmt");
	str(fido_cred_fmt(cred));
	key("credFlags");
	printf("%u", fido_cred_flags(cred));
	key("credAaguid");
	hex(fido_cred_aaguid_ptr(cred), fido_cred_aaguid_len(cred));
	key("credIdLength");
	printf("%zu", fido_cred_id_len(cred));
	step("credVerifySelf", fido_cred_verify_self(cred));
	step("credVerify", fido_cred_verify(cred));

	pk = es256_pk_new();
	if ((r = es256_pk_from_ptr(pk, fido_cred_pubkey_ptr(cred), fido_cred_pubkey_len(cred))) != FIDO_OK) {
		step("publicKey", r);
		goto out;
	}

	/* getAssertion with hmac-secret: twice without UV, once with, then two salts */
	assert_hmac(dev, "example.com", cred, pk, salt, 32, FIDO_OPT_OMIT, "assertNoUv1");
	assert_hmac(dev, "example.com", cred, pk, salt, 32, FIDO_OPT_OMIT, "assertNoUv2");
	assert_hmac(dev, "example.com", cred, pk, salt, 32, FIDO_OPT_TRUE, "assertUv1");
	assert_hmac(dev, "example.com", cred, pk, salt, 32, FIDO_OPT_TRUE, "assertUv2");
	assert_hmac(dev, "example.com", cred, pk, salt, 64, FIDO_OPT_OMIT, "assertTwoSalts");
	/* another relying party must not find this credential */
	assert_hmac(dev, "other.example", cred, pk, salt, 32, FIDO_OPT_OMIT, "assertWrongRp");

	/* a second credential: its own hmac-secret */
	{
		fido_cred_t *other = make_cred(dev, "example.com", (const unsigned char *)"user-2", 6, FIDO_OPT_TRUE,
		    FIDO_EXT_HMAC_SECRET, &r);
		step("makeCredential2", r);
		if (r == FIDO_OK) {
			es256_pk_t *pk2 = es256_pk_new();
			es256_pk_from_ptr(pk2, fido_cred_pubkey_ptr(other), fido_cred_pubkey_len(other));
			assert_hmac(dev, "example.com", other, pk2, salt, 32, FIDO_OPT_OMIT, "assertOtherCredential");
			es256_pk_free(&pk2);
		}
		fido_cred_free(&other);
	}

	/* a credential without hmac-secret: asking for it yields no output (libfido2 then refuses the
	 * authenticator data, whose extensions do not match what it asked for) */
	{
		fido_cred_t *plain = make_cred(dev, "example.com", (const unsigned char *)"user-3", 6, FIDO_OPT_FALSE, 0, &r);
		step("makeCredentialPlain", r);
		if (r == FIDO_OK) {
			es256_pk_t *pk3 = es256_pk_new();
			es256_pk_from_ptr(pk3, fido_cred_pubkey_ptr(plain), fido_cred_pubkey_len(plain));
			assert_hmac(dev, "example.com", plain, pk3, salt, 32, FIDO_OPT_OMIT, "assertPlain");
			es256_pk_free(&pk3);
		}
		fido_cred_free(&plain);
	}

out:
	putchar('}');
	putchar('\n');
	es256_pk_free(&pk);
	fido_cred_free(&cred);
	fido_cbor_info_free(&ci);
	if (dev != NULL) {
		fido_dev_close(dev);
		fido_dev_free(&dev);
	}
	return 0;
}
