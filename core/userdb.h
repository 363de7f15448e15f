/*
 * userdb - the optional list of known users (passwd_file).
 *
 * The file has Dovecot's passwd-file format, "name:password:uid:...";
 * only the name matters here.  A recipient is known when its user
 * (local@domain) or its bare local part is listed, case-insensitively.
 * The file is read again when it changes.
 */
#ifndef SPAMTRAP_USERDB_H
#define SPAMTRAP_USERDB_H

#include "address.h"

struct userdb;

/* NULL with *error_r when the file cannot be read */
struct userdb *userdb_init(const char *path, char **error_r);
void userdb_deinit(struct userdb **db);

/* 1 known, 0 unknown, -1 the file became unreadable (*error_r set) */
int userdb_lookup(struct userdb *db, const struct address *a,
		  char **error_r);

#endif
