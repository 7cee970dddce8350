/* bridge/main.c: entry point (being written). */
#include <stdio.h>
int main(void);
int
main(void)
{
	puts("popbridge");
	return 0;
}
