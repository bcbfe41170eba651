/*
 * te-flhead.c - the starting model of bench/federated (not a test, not
 * installed): a float .tflite that is just one FULLY_CONNECTED layer, the
 * head a [federated:NAME] section trains.
 *
 *   te-flhead ROWS COLS HEAD OUT
 *
 * HEAD is a head in the SPEC 10 wire layout (ROWS * COLS float32 weights
 * row by row, then ROWS float32 biases, little-endian, as bench/federated
 * writes it); OUT gets the model: input [1, COLS], weights [ROWS, COLS],
 * bias [ROWS], output [1, ROWS].  The frozen backbone runs on the nodes
 * (simulated by the bench), so the gateway's model holds only the head.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "tflite/tflite_write.h"

/* Read exactly len bytes of path into a new buffer; NULL on any failure. */
static void *
read_exact(const char *path, size_t len)
{
	FILE	*f;
	char	*buf;
	int	 extra;

	if ((f = fopen(path, "rb")) == NULL)
		return (NULL);
	if ((buf = malloc(len)) == NULL) {
		fclose(f);
		return (NULL);
	}
	/* A longer file is a wrong ROWS or COLS: refuse it too. */
	if (fread(buf, 1, len, f) != len || (extra = fgetc(f)) != EOF) {
		fclose(f);
		free(buf);
		return (NULL);
	}
	fclose(f);
	return (buf);
}

/* Write the model of the ROWS x COLS head in HEAD to OUT. */
int
main(int argc, char **argv)
{
	struct tflite_write_tensor	 t[4];
	struct tflite_write_op		 op = { .code = 9, .nin = 3, .nout = 1 };
	struct tflite_write_graph	 g;
	int32_t				 in[3] = { 0, 1, 2 }, out[1] = { 3 };
	int32_t				 gin[1] = { 0 };
	long				 rows, cols;
	float				*head;
	uint8_t				*m;
	size_t				 len;
	char				*cause = NULL;
	FILE				*f;

	if (argc != 5) {
		fprintf(stderr, "usage: te-flhead ROWS COLS HEAD OUT\n");
		return (2);
	}
	rows = strtol(argv[1], NULL, 10);
	cols = strtol(argv[2], NULL, 10);
	if (rows < 1 || rows > 4096 || cols < 1 || cols > 4096) {
		fprintf(stderr, "te-flhead: bad ROWS or COLS\n");
		return (2);
	}
	head = read_exact(argv[3], 4 * (size_t)(rows * cols + rows));
	if (head == NULL) {
		fprintf(stderr, "te-flhead: %s is not a %ldx%ld head\n",
		    argv[3], rows, cols);
		return (1);
	}
	t[0] = (struct tflite_write_tensor){ .type = 0, .ndims = 2,
	    .dims = { 1, (int32_t)cols } };
	t[1] = (struct tflite_write_tensor){ .type = 0, .ndims = 2,
	    .dims = { (int32_t)rows, (int32_t)cols }, .data = head,
	    .bytes = 4 * (size_t)(rows * cols) };
	t[2] = (struct tflite_write_tensor){ .type = 0, .ndims = 1,
	    .dims = { (int32_t)rows }, .data = head + rows * cols,
	    .bytes = 4 * (size_t)rows };
	t[3] = (struct tflite_write_tensor){ .type = 0, .ndims = 2,
	    .dims = { 1, (int32_t)rows } };
	op.in = in;
	op.out = out;
	g = (struct tflite_write_graph){ .tensors = t, .ntensors = 4,
	    .ops = &op, .nops = 1, .inputs = gin, .ninputs = 1,
	    .outputs = out, .noutputs = 1 };
	if (tflite_write(&g, &m, &len, &cause) != 0) {
		fprintf(stderr, "te-flhead: %s\n", cause ? cause : "?");
		return (1);
	}
	if ((f = fopen(argv[4], "wb")) == NULL ||
	    fwrite(m, 1, len, f) != len || fclose(f) != 0) {
		perror(argv[4]);
		return (1);
	}
	free(m);
	free(head);
	return (0);
}
