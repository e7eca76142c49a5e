/*
 * vigil hash-password: reads a password on standard input and prints its
 * libsodium crypt string (argon2id), the value that a user takes under the
 * configuration's auth: users:. The password is read without echo when
 * standard input is a terminal, and never appears on the command line.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "commands.h"
#include "http/auth.h"

static void usage(FILE *out)
{
	fprintf(out, "usage: vigil hash-password < password-file\n"
		     "\n"
		     "Reads a password (one line) on standard input, asking for it without echo on a terminal,\n"
		     "and prints its argon2id hash for the configuration file:\n"
		     "  auth:\n"
		     "    users:\n"
		     "      alice: $argon2id$v=19$m=65536,t=2,p=1$...\n");
}

/* One line of stdin into buf without its line end; the terminal's echo is off meanwhile. Returns its length or -1. */
static long read_password(char *buf, size_t cap)
{
	int tty = isatty(STDIN_FILENO);
	struct termios old, quiet;
	if (tty && tcgetattr(STDIN_FILENO, &old) == 0) {
		fprintf(stderr, "Password: ");
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	} else {
		tty = 0;
	}
	char *line = fgets(buf, (int)cap, stdin);
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (!line)
		return -1;
	size_t n = strlen(buf);
	if (n == cap - 1 && buf[n - 1] != '\n' && !feof(stdin))
		return -2;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	return (long)n;
}

int vg_cmd_hash_password(int argc, char **argv)
{
	(void)argv;
	if (argc > 1) {
		int help = !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h");
		usage(help ? stdout : stderr);
		return help ? VG_EXIT_OK : VG_EXIT_BAD_INPUT;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "vigil: hash-password: libsodium cannot start\n");
		return VG_EXIT_FAILURE;
	}
	char pw[VG_AUTH_SECRET_MAX + 2];
	long n = read_password(pw, sizeof pw);
	int status = VG_EXIT_OK;
	char hash[crypto_pwhash_STRBYTES];
	if (n == -2) {
		fprintf(stderr, "vigil: hash-password: the password is longer than %d characters\n", VG_AUTH_SECRET_MAX);
		status = VG_EXIT_BAD_INPUT;
	} else if (n <= 0) {
		fprintf(stderr, "vigil: hash-password: no password on standard input\n");
		status = VG_EXIT_BAD_INPUT;
	} else if (crypto_pwhash_str(hash, pw, (unsigned long long)n, crypto_pwhash_OPSLIMIT_INTERACTIVE,
				     crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
		fprintf(stderr, "vigil: hash-password: out of memory\n");
		status = VG_EXIT_FAILURE;
	} else {
		printf("%s\n", hash);
	}
	sodium_memzero(pw, sizeof pw);
	return status;
}
