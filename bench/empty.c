/* The floor for process start-up: an empty, dynamically linked program. */
int
main(void)
{
	return 0;
}
