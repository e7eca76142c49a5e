/*
 * vigil: real-time video analytics server. Command dispatch; each command
 * parses its own options.
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{ "serve", vg_cmd_serve, "stream a video source, analysed, to browsers" },
	{ "detect", vg_cmd_detect, "print the detections in images or videos as JSON lines" },
	{ "inspect", vg_cmd_inspect, "describe a model: inputs, outputs, ops, backends, decoder" },
	{ "bench", vg_cmd_bench, "measure a model's inference latency" },
	{ "run", vg_cmd_run, "run a model once on .npy inputs or an image; write its outputs as .npy" },
	{ "hash-password", vg_cmd_hash_password, "read a password, print its hash for the configuration's users" },
	{ "check-config", vg_cmd_check_config, "read and check a configuration file, load its models, summarise it" },
};

static void usage(FILE *out)
{
	fprintf(out, "usage: vigil COMMAND [options]\n\nCommands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\nvigil COMMAND --help describes a command's options; vigil --version prints the version.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return VG_EXIT_BAD_INPUT;
	}
	const char *cmd = argv[1];
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (!strcmp(cmd, commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		usage(stdout);
		return VG_EXIT_OK;
	}
	if (!strcmp(cmd, "--version")) {
		printf("vigil %s\n", VG_VERSION);
		return VG_EXIT_OK;
	}
	fprintf(stderr, "vigil: unknown command '%s' (see vigil --help)\n", cmd);
	return VG_EXIT_BAD_INPUT;
}
