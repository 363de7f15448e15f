/*
 * privs - drop root for the configured account.  See privs.h.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include "msg.h"
#include "privs.h"

void privs_drop(const char *user)
{
	struct passwd *pw;

	if (user == NULL || user[0] == '\0') {
		if (geteuid() == 0)
			msg_warn("running as root: set \"user\" to an "
				 "unprivileged account for production");
		return;
	}
	errno = 0;
	if ((pw = getpwnam(user)) == NULL)
		msg_fatal("user = %s: no such user%s%s", user,
			  errno ? ": " : "", errno ? strerror(errno) : "");
	if (pw->pw_uid == 0)
		msg_fatal("user = %s: must not be root", user);
	if (geteuid() != 0) {
		if (geteuid() != pw->pw_uid)
			msg_fatal("user = %s: started as uid %ld, cannot switch "
				  "without root", user, (long)geteuid());
		return;
	}
	if (initgroups(pw->pw_name, pw->pw_gid) < 0
	    || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
		msg_fatal_sys("cannot run as %s", user);
	if (setuid(0) == 0)
		msg_panic("dropped privileges to %s but could get root back", user);
}
