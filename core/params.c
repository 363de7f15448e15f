/*
 * params - the table of every setting: name, type, default, bounds.
 *
 * Defaults are the embedded configuration "make run" uses: Maildir under
 * ./var, LMTP on 127.0.0.1:2424.  Relative paths are made absolute
 * against the directory the program was started in.
 */
#include <limits.h>
#include <stddef.h>

#include "config.h"
#include "params.h"

char *var_var_dir;
char *var_db_dir;
char *var_rules_dir;
char *var_log;
char *var_syslog_facility;
char *var_user;
char *var_myhostname;
char *var_recipient_delimiter;
char *var_passwd_file;
char *var_pid_file;

char *var_lmtp_listen;
int var_lmtp_max_connections;
int var_lmtp_line_limit;
int var_lmtp_max_recipients;
long long var_message_size_limit;
int var_lmtp_command_timeout;
int var_lmtp_data_timeout;
int var_lmtp_max_errors;
int var_drain_timeout;

char *var_store;
int var_mail_mode;
int var_mail_dir_mode;
char *var_mail_group;
int var_maildir_fsync;
int var_store_timeout;

char *var_quarantine_folder;
char *var_one_shot_folder;
char *var_lmtp_reject_mode;

int var_watch_interval;
char *var_watch;
char *var_ignore_folders;
char *var_imap_server;
char *var_imap_admin_user;
char *var_imap_admin_password_file;
char *var_imap_login_format;
int var_imap_poll_interval;
int var_imap_max_connections;
int var_imap_timeout;

int var_rules_time_budget_ms;
int var_rules_match_limit;
int var_rules_jit;
int var_rules_hyperscan;
int var_rules_threads;
char *var_rules_cache_dir;
char *var_spam_score_header;
char *var_spam_status_header;
char *var_spam_report_header;

int var_db_mode;
long long var_db_cache_size;
int var_db_checkpoint_interval;
int var_db_lock_timeout;
int var_db_busy_timeout;
int var_db_stuck_timeout;
int var_quarantine_retention;

#define STR(name, def, var, help) \
	{ name, CONFIG_STR, def, 0, 0, &var, help }
#define PATH(name, def, var, help) \
	{ name, CONFIG_PATH, def, 0, 0, &var, help }
#define INT(name, def, min, max, var, help) \
	{ name, CONFIG_INT, def, min, max, &var, help }
#define BOOL(name, def, var, help) \
	{ name, CONFIG_BOOL, def, 0, 1, &var, help }
#define TIME(name, def, min, max, var, help) \
	{ name, CONFIG_TIME, def, min, max, &var, help }
#define SIZE(name, def, min, max, var, help) \
	{ name, CONFIG_SIZE, def, min, max, &var, help }
#define MODE(name, def, var, help) \
	{ name, CONFIG_MODE, def, 0, 07777, &var, help }

const struct config_param config_params[] = {
	/* core */
	PATH("var_dir", "var", var_var_dir,
	     "base of the embedded default layout"),
	PATH("db_dir", "$var_dir/db", var_db_dir,
	     "Berkeley DB environment directory"),
	STR("rules_dir", "", var_rules_dir,
	    "rule directories, comma or space separated (empty: the shipped "
	    "rules, then /usr/share/spamassassin and /etc/spamassassin if "
	    "present)"),
	STR("log", "stderr", var_log, "where logs go: stderr or syslog"),
	STR("syslog_facility", "mail", var_syslog_facility,
	    "syslog facility when log = syslog"),
	STR("user", "", var_user,
	    "run as this user after binding sockets (empty: as started)"),
	STR("myhostname", "", var_myhostname,
	    "host name in greetings and headers (empty: gethostname)"),
	STR("recipient_delimiter", "+", var_recipient_delimiter,
	    "characters that separate a local part from its detail"),
	PATH("passwd_file", "", var_passwd_file,
	     "optional user list (Dovecot passwd-file); unknown users get 550"),
	PATH("pid_file", "", var_pid_file,
	     "write the daemon's pid here (empty: none)"),

	/* lmtpd */
	STR("lmtp_listen", "127.0.0.1:2424", var_lmtp_listen,
	    "listeners, comma separated: host:port, [v6]:port, unix:/path"),
	INT("lmtp_max_connections", "100", 1, 100000,
	    var_lmtp_max_connections, "concurrent LMTP sessions"),
	INT("lmtp_line_limit", "4096", 512, 1048576, var_lmtp_line_limit,
	    "longest command line accepted, in bytes"),
	INT("lmtp_max_recipients", "1000", 1, 100000,
	    var_lmtp_max_recipients, "recipients per transaction"),
	SIZE("message_size_limit", "50M", 1024, 1LL << 40,
	     var_message_size_limit, "largest message accepted, in bytes"),
	TIME("lmtp_command_timeout", "5m", 1, 86400, var_lmtp_command_timeout,
	     "idle time allowed between commands"),
	TIME("lmtp_data_timeout", "10m", 1, 86400, var_lmtp_data_timeout,
	     "idle time allowed while receiving message data"),
	INT("lmtp_max_errors", "20", 1, 100000, var_lmtp_max_errors,
	    "protocol errors before the connection is closed"),
	TIME("drain_timeout", "2m", 1, 86400, var_drain_timeout,
	     "how long SIGTERM waits for sessions to finish"),

	/* store */
	STR("store", "maildir:$var_dir/mail/%u", var_store,
	    "delivery backend: maildir:/path/%d/%n or lmtp:host:port or lmtp:unix:/path"),
	MODE("mail_mode", "0600", var_mail_mode,
	     "mode of message files written to Maildir"),
	MODE("mail_dir_mode", "0700", var_mail_dir_mode,
	     "mode of Maildir directories created"),
	STR("mail_group", "", var_mail_group,
	    "group of Maildir files and directories (empty: the user's)"),
	BOOL("maildir_fsync", "yes", var_maildir_fsync,
	     "sync each message and its new/ directory before the reply"),
	TIME("store_timeout", "2m", 1, 86400, var_store_timeout,
	     "timeout for a downstream LMTP store"),

	/* quarantine (lmtpd policy, folderd, the CLI) */
	STR("quarantine_folder", "Spam", var_quarantine_folder,
	    "folder held mail is filed into ('/' separates levels)"),
	STR("one_shot_folder", "Spam/One-Shot", var_one_shot_folder,
	    "folder for held mail from a sender+relay never seen before"),
	STR("lmtp_reject_mode", "discard", var_lmtp_reject_mode,
	    "a reject at the LMTP hop: discard (250, nothing stored) or bounce (550 5.7.1)"),

	/* folders */
	TIME("watch_interval", "10s", 1, 86400, var_watch_interval,
	     "how often spamtrap-folderd rescans the folders"),
	STR("watch", "maildir", var_watch,
	    "how spamtrap-folderd sees moves: maildir (the files under the "
	    "Maildir store) or imap (logging in as each user)"),
	STR("ignore_folders", "Trash, Junk, Deleted Messages, Deleted Items",
	    var_ignore_folders,
	    "folders (comma separated) whose messages are not accepted; a held "
	    "message moved there counts as rejected"),
	STR("imap_server", "127.0.0.1:143", var_imap_server,
	    "IMAP server (host:port) of the users' mailboxes, for watch = imap "
	    "and for accept/reject with an LMTP store"),
	STR("imap_admin_user", "", var_imap_admin_user,
	    "master (Dovecot) or proxy (Cyrus) user that logs in as each user "
	    "(SASL PLAIN, authzid = the user)"),
	PATH("imap_admin_password_file", "", var_imap_admin_password_file,
	     "file holding imap_admin_user's password (first line)"),
	STR("imap_login_format", "%u", var_imap_login_format,
	    "IMAP login name of a user: %u the full address, %n the local "
	    "part, %d the domain"),
	TIME("imap_poll_interval", "2s", 1, 3600, var_imap_poll_interval,
	     "how often spamtrap-folderd asks each user's IMAP folders for "
	     "changes (STATUS on a kept connection)"),
	INT("imap_max_connections", "250", 1, 300, var_imap_max_connections,
	    "IMAP connections spamtrap-folderd keeps open; more users are "
	    "polled by turns (libetpan's select() limits one process to "
	    "about 330 connections)"),
	TIME("imap_timeout", "30s", 1, 3600, var_imap_timeout,
	     "IMAP connect and command timeout"),

	/* rules */
	INT("rules_time_budget_ms", "5000", 10, 600000,
	    var_rules_time_budget_ms,
	    "time one message may spend in the rules; the rest count as not hit"),
	INT("rules_match_limit", "1000000", 1000, 1000000000,
	    var_rules_match_limit,
	    "PCRE2 match limit per regex run (backtracking steps)"),
	BOOL("rules_jit", "yes", var_rules_jit,
	     "JIT-compile rule regexes (no: systems without executable memory)"),
	BOOL("rules_hyperscan", "yes", var_rules_hyperscan,
	     "one Hyperscan pass picks the body/rawbody/uri regexes to run"),
	PATH("rules_cache_dir", "$var_dir/rules-cache", var_rules_cache_dir,
	     "compiled Hyperscan databases (empty: compile at every load)"),
	INT("rules_threads", "2", 1, 4, var_rules_threads,
	    "threads that score one message (no more than the CPUs)"),
	STR("spam_score_header", "X-Spam-Score", var_spam_score_header,
	    "header field for the score (empty: not added)"),
	STR("spam_status_header", "X-Spam-Status", var_spam_status_header,
	    "header field for the verdict and rules hit (empty: not added)"),
	STR("spam_report_header", "X-Spam-Report", var_spam_report_header,
	    "header field for the rule-by-rule report (empty: not added)"),

	/* qstore */
	MODE("db_mode", "0600", var_db_mode,
	     "mode of the database files (0600, or 0640 for a reading group)"),
	SIZE("db_cache_size", "16M", 1LL << 20, 1LL << 32, var_db_cache_size,
	     "Berkeley DB cache (memory pool) size"),
	TIME("db_checkpoint_interval", "1m", 1, 86400,
	     var_db_checkpoint_interval,
	     "checkpoint the database (and remove old logs) this often"),
	TIME("db_lock_timeout", "2s", 1, 3600, var_db_lock_timeout,
	     "wait this long for a database lock before checking for dead holders"),
	TIME("db_busy_timeout", "30s", 1, 3600, var_db_busy_timeout,
	     "give up (temporary failure) on a busy database after this long"),
	TIME("db_stuck_timeout", "2m", 1, 86400, var_db_stuck_timeout,
	     "a database call blocked this long (on a mutex a killed process "
	     "held) exits the process, so the environment can be recovered"),
	TIME("quarantine_retention", "30d", 3600, 3650 * 86400,
	     var_quarantine_retention,
	     "keep incidents and their message copies this long"),

	{ NULL, 0, NULL, 0, 0, NULL, NULL },
};
