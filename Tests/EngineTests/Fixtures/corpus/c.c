#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LINE 1024
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

typedef struct node {
    char *key;
    int value;
    struct node *next;
} node_t;

static unsigned long hash(const char *s) {
    unsigned long h = 5381;
    int c;
    while ((c = *s++) != 0)
        h = ((h << 5) + h) + (unsigned long)c; /* h * 33 + c */
    return h;
}

int table_put(node_t **table, size_t n, const char *key, int value) {
    size_t i = hash(key) % n;
    for (node_t *p = table[i]; p != NULL; p = p->next) {
        if (strcmp(p->key, key) == 0) {
            p->value = value;
            return 0;
        }
    }
    node_t *p = malloc(sizeof *p);
    if (!p) return -1;
    p->key = strdup(key);
    p->value = value;
    p->next = table[i];
    table[i] = p;
    return 1;
}

int main(int argc, char **argv) {
    node_t *table[64] = {0};
    char line[MAX_LINE];
    FILE *f = argc > 1 ? fopen(argv[1], "r") : stdin;
    if (f == NULL) {
        perror("fopen");
        return EXIT_FAILURE;
    }
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (*line && table_put(table, ARRAY_SIZE(table), line, (int)strlen(line)) < 0) {
            fprintf(stderr, "out of memory\n");
            return 2;
        }
    }
    for (size_t i = 0; i < ARRAY_SIZE(table); i++)
        for (node_t *p = table[i]; p; p = p->next)
            printf("%-20s %5d\t%#x\n", p->key, p->value, p->value);
    return 0;
}
