package io.vesicle.loader;

/** Run by NativeLibraryTest in a child JVM: says whether the library loaded, and why not. */
final class LibraryProbe {
    private LibraryProbe() {
    }

    public static void main(String[] args) {
        if (NativeLibrary.isAvailable()) {
            System.out.println("available");
        } else {
            System.out.println("unavailable");
            System.out.println(String.valueOf(NativeLibrary.unavailabilityCause()).replace('\n', ' '));
        }
    }
}
