/*
 * params - every configuration setting, as typed globals (var_*).
 * The table that names, types and bounds them is in params.c.
 * Later modules add their rows to params.c, grouped by module.
 */
#ifndef SPAMTRAP_PARAMS_H
#define SPAMTRAP_PARAMS_H

/* core */
extern char *var_var_dir;
extern char *var_db_dir;
extern char *var_rules_dir;
extern char *var_log;
extern char *var_syslog_facility;
extern char *var_user;
extern char *var_myhostname;
extern char *var_recipient_delimiter;
extern char *var_passwd_file;
extern char *var_pid_file;

/* lmtpd */
extern char *var_lmtp_listen;
extern int var_lmtp_max_connections;
extern int var_lmtp_line_limit;
extern int var_lmtp_max_recipients;
extern long long var_message_size_limit;
extern int var_lmtp_command_timeout;
extern int var_lmtp_data_timeout;
extern int var_lmtp_max_errors;
extern int var_drain_timeout;

/* store */
extern char *var_store;
extern int var_mail_mode;
extern int var_mail_dir_mode;
extern char *var_mail_group;
extern int var_maildir_fsync;
extern int var_store_timeout;

/* quarantine */
extern char *var_quarantine_folder;
extern char *var_one_shot_folder;
extern char *var_lmtp_reject_mode;

/* folders */
extern int var_watch_interval;
extern char *var_watch;
extern char *var_ignore_folders;
extern char *var_imap_server;
extern char *var_imap_admin_user;
extern char *var_imap_admin_password_file;
extern char *var_imap_login_format;
extern int var_imap_poll_interval;
extern int var_imap_max_connections;
extern int var_imap_timeout;

/* rules */
extern int var_rules_time_budget_ms;
extern int var_rules_match_limit;
extern int var_rules_jit;
extern int var_rules_hyperscan;
extern int var_rules_threads;
extern char *var_rules_cache_dir;
extern char *var_spam_score_header;
extern char *var_spam_status_header;
extern char *var_spam_report_header;

/* qstore */
extern int var_db_mode;
extern long long var_db_cache_size;
extern int var_db_checkpoint_interval;
extern int var_db_lock_timeout;
extern int var_db_busy_timeout;
extern int var_db_stuck_timeout;
extern int var_quarantine_retention;

#endif
