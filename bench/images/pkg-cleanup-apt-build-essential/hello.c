#include <stdio.h>

int main(void) {
    printf("hello from a C build\n");
    return 0;
}
