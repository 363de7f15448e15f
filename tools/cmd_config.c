/*
 * spamtrap config [-n] [-d] [NAME...] - print the effective settings.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "commands.h"
#include "config.h"

static void usage(FILE *fp)
{
	fputs("usage: spamtrap [-c FILE] config [-n] [NAME...]\n"
	      "  Print the effective settings as \"name = value\";\n"
	      "  defaults are marked \"# default\".\n"
	      "  -n   only the settings given in the file or with -o\n"
	      "  NAME print only these settings, values unmarked\n", fp);
}

int cmd_config(int argc, char **argv)
{
	int c, flags = CONFIG_PRINT_MARK;
	char *error;

	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	optind = 1;
	while ((c = getopt_long(argc, argv, "nh", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			flags |= CONFIG_PRINT_NONDEFAULT;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc)
		flags &= ~CONFIG_PRINT_MARK;
	if (config_print(stdout, flags, argv + optind, argc - optind,
			 &error) < 0) {
		fprintf(stderr, "spamtrap config: %s\n", error);
		free(error);
		return 1;
	}
	return 0;
}
