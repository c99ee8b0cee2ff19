// SPDX-License-Identifier: Apache-2.0
// cut_tcp_connections: shutdown(2) on this process's TCP sockets, found through /proc/self/fd.
#include "connection_cut.h"

#include <arpa/inet.h>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <vector>

namespace rgpu {

bool cut_tcp_connections(int supervisor_port) {
    std::vector<int> sockets;
    bool worker = false;
    DIR* dir = opendir("/proc/self/fd");
    if (!dir) return false;
    while (dirent* entry = readdir(dir)) {
        int fd = std::atoi(entry->d_name);
        struct stat st {};
        if (fd <= 2 || fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
        sockaddr_in peer{};
        socklen_t length = sizeof peer;
        if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &length) != 0 ||
            peer.sin_family != AF_INET)
            continue;
        sockets.push_back(fd);
        worker |= ntohs(peer.sin_port) != supervisor_port;
    }
    closedir(dir);
    if (!worker) return false;
    for (int fd : sockets)
        shutdown(fd, SHUT_RDWR);
    return true;
}

int endpoint_port(const char* endpoint) {
    if (!endpoint) return -1;
    const char* colon = std::strrchr(endpoint, ':');
    return colon ? std::atoi(colon + 1) : -1;
}

} // namespace rgpu
