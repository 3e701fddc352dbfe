/* SPDX-License-Identifier: MIT */
/*
 * fw_tls_creds.h - the front end's certificate chain and private key.
 *
 * Reads a PEM certificate chain (leaf first) and a PEM private key (EC in
 * SEC1 or PKCS#8, RSA in PKCS#1 or PKCS#8), checks that the key belongs
 * to the leaf, and keeps both in memory owned by this module.  Every PEM
 * and DER buffer that held key bytes is wiped before the loader returns.
 * Loaded once at start by one thread; read-only afterwards, so any
 * thread may use the loaded credentials.
 */
#ifndef FW_TLS_CREDS_H
#define FW_TLS_CREDS_H

#include <stddef.h>

#include <bearssl.h>

struct fw_tls_creds {
	br_x509_certificate	*chain;		/* leaf first */
	size_t			 chain_len;
	int			 key_type;	/* BR_KEYTYPE_EC or _RSA */
	br_ec_private_key	 ec;		/* when key_type is EC */
	br_rsa_private_key	 rsa;		/* when key_type is RSA */
	unsigned char		*key_mem;	/* backing store of ec/rsa */
	size_t			 key_mem_len;
};

/*
 * Load cert_file and key_file into *creds (zeroed first).  0 ok; -1 with
 * a message naming the file and the problem in err (nothing is left
 * allocated).
 */
int	fw_tls_creds_load(struct fw_tls_creds *creds, const char *cert_file,
	    const char *key_file, char *err, size_t errlen);

/* Wipe the key, free everything.  Safe on a zeroed structure. */
void	fw_tls_creds_free(struct fw_tls_creds *creds);

#endif /* FW_TLS_CREDS_H */
